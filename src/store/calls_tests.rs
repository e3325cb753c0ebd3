//! The call list's two ways of finding a reader's calls agree.

use super::StoreError;
use super::calls::{CallFilter, CallRow, list_by};
use super::db::{Db, args};
use crate::domain::CallFold;
use crate::domain::numbers::NumberKind;
use crate::domain::numbers::Resolution;
use crate::store::Store;

const TENANTS: [&str; 4] = ["t0", "t1", "t2", "t3"];

/// Stores `n` calls of every kind: pending or not, ended or not, with a tenant or none,
/// national, local or regional (serving some tenants).
fn calls(db: &Db<'_>, n: i64) -> Result<(), StoreError> {
    let fold = serde_json::to_string(&CallFold::default())?;
    for i in 0..n {
        let mix = |m: i64| (i * 7919 + m * 31) % m;
        let ended = mix(3) == 0;
        let state = match mix(5) {
            0 if !ended => None,
            k if !ended => {
                Some(["initiated", "ringing", "in_progress", "in_progress"][k as usize % 4])
            }
            k => Some(["completed", "busy", "failed"][k as usize % 3]),
        };
        let tenant = (mix(4) != 0).then(|| TENANTS[mix(11) as usize % 4]);
        let status = match (tenant, ended) {
            (Some(_), _) if mix(2) == 0 => "resolved",
            (Some(_), _) => "selected",
            (None, false) => "pending",
            (None, true) => "unresolved",
        };
        let kind = [
            NumberKind::National,
            NumberKind::Regional,
            NumberKind::Local,
        ][mix(13) as usize % 3];
        let served: Vec<String> = TENANTS
            .iter()
            .filter(|_| mix(2) == 1)
            .take(1 + mix(3) as usize)
            .map(|t| (*t).to_owned())
            .collect();
        let resolution = Resolution {
            number: "+15125550100".into(),
            kind,
            tenant_id: None,
            tenant_ids: if kind == NumberKind::Regional {
                served
            } else {
                Vec::new()
            },
            forwarded_from: None,
            via_forwarded: false,
        };
        db.exec(
            "INSERT INTO calls (id, connection_id, provider, provider_call_id, state, number_kind,
                 tenant_status, tenant_id, recording_status, fold, resolution, created_at, updated_at)
             VALUES (?1, 'c', 'twilio', ?1, ?2, ?3, ?4, ?5, 'none', ?6, ?7, ?8, ?8)",
            args![
                format!("call-{i}"),
                state,
                serde_json::to_value(kind)?.as_str().map(str::to_owned),
                status,
                tenant,
                fold.as_str(),
                serde_json::to_string(&resolution)?,
                i
            ],
        )?;
    }
    Ok(())
}

/// A reader's page found tenant by tenant is the page the walk over every call finds, for
/// every reader, filter, cursor and page size.
#[tokio::test]
async fn a_page_found_tenant_by_tenant_is_the_page_of_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callgate.db")).unwrap();
    let compared = store
        .write(|db| {
            calls(db, 300)?;
            let readers: [&[&str]; 5] =
                [&[], &["t0"], &["t1", "t2"], &["t3", "t0", "t2"], &TENANTS];
            let mut compared = 0;
            for reader in readers {
                for (state, status, tenant) in [
                    (None, None, None),
                    (Some("in_progress"), None, None),
                    (None, Some("pending"), None),
                    (None, None, Some("t2")),
                    (Some("completed"), None, Some("t0")),
                ] {
                    for before_seq in [None, Some(150), Some(3)] {
                        for limit in [1, 7, 1000] {
                            let f = CallFilter {
                                state: state.map(str::to_owned),
                                tenant_status: status,
                                tenant_id: tenant.map(str::to_owned),
                                before_seq,
                                only_tenants: Some(
                                    reader.iter().map(|t| (*t).to_owned()).collect(),
                                ),
                                limit,
                                ..CallFilter::default()
                            };
                            let ids = |rows: Vec<CallRow>| -> Vec<String> {
                                rows.into_iter().map(|c| c.id).collect()
                            };
                            let walked = ids(list_by(db, &f, false)?);
                            let found = ids(list_by(db, &f, true)?);
                            assert_eq!(found, walked, "{f:?}");
                            compared += usize::from(!walked.is_empty());
                        }
                    }
                }
            }
            Ok::<_, StoreError>(compared)
        })
        .await
        .unwrap();
    assert!(compared > 100, "most pages hold calls: {compared}");
}
