//! The Kubernetes files of deploy/k8s against PostgreSQL's connection limit: the most
//! instances a rolling update runs, each with all the sessions it may open, fit the default
//! `max_connections` with room for the tools, and deploy/README.md shows the same sum.

use std::path::Path;

/// PostgreSQL's default `max_connections` less its `superuser_reserved_connections`.
const SLOTS: usize = 100 - 3;
/// Sessions kept for the command line, `pg_dump` and an operator's `psql`.
const HEADROOM: usize = 5;
/// The session each instance listens on for the others' signals (`Pool::listen`).
const LISTENERS: usize = 1;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The value of the one `key: N` line of the YAML `file`, a number of instances.
fn yaml_count(file: &str, key: &str) -> usize {
    let text = read(file);
    let prefix = format!("{key}:");
    let values: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .map(str::trim)
        .collect();
    assert_eq!(
        values.len(),
        1,
        "{file}: one `{key}` expected, found {values:?}"
    );
    values[0].parse().unwrap_or_else(|_| {
        panic!(
            "{file}: {key} is {:?}; a number of instances keeps the session budget checkable",
            values[0]
        )
    })
}

/// The value of `const NAME: usize = N;` in src/store/pg.rs.
fn pool_constant(name: &str) -> usize {
    let source = read("src/store/pg.rs");
    let prefix = format!("const {name}: usize = ");
    source
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.strip_suffix(';'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}N;` in src/store/pg.rs"))
}

/// `maxReplicas` plus `maxSurge` instances, each with its pooled sessions, one per ingest
/// thread and its listener, and the tools' headroom, fit PostgreSQL's default 97 slots.
#[test]
fn a_rollout_at_the_autoscalers_maximum_fits_postgres_default_connections() {
    let max = yaml_count("deploy/k8s/hpa.yaml", "maxReplicas");
    let surge = yaml_count("deploy/k8s/deployment.yaml", "maxSurge");
    let replicas = yaml_count("deploy/k8s/deployment.yaml", "replicas");
    assert!(
        replicas <= max,
        "replicas {replicas} above maxReplicas {max}"
    );
    let per_instance = pool_constant("SESSIONS") + pool_constant("INGEST_THREADS") + LISTENERS;
    let total = (max + surge) * per_instance + HEADROOM;
    assert!(
        total <= SLOTS,
        "({max} + {surge}) x {per_instance} + {HEADROOM} = {total} sessions, over PostgreSQL's \
         default {SLOTS}: lower maxReplicas or maxSurge, or the sessions per instance"
    );
    let readme = read("deploy/README.md");
    for says in [
        format!("opens up to {per_instance} database sessions"),
        format!("({max} + {surge}) × {per_instance} + {HEADROOM} = {total} ≤ {SLOTS}"),
        format!("`maxReplicas: {max}`"),
        format!("the {} slots left over", SLOTS - total),
    ] {
        assert!(
            readme.contains(&says),
            "deploy/README.md should say: {says}"
        );
    }
    let hpa = read("deploy/k8s/hpa.yaml");
    let sum = format!("({max} + {surge}) x {per_instance} + {HEADROOM} = {total}");
    assert!(hpa.contains(&sum), "hpa.yaml's comment should say: {sum}");
}
