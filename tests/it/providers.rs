//! Every registered provider end to end, from its own samples: nothing here names one, so a
//! new adapter is covered as soon as it is registered and has samples.

use crate::support::*;
use callgate::clock::SystemClock;
use callgate::dev::{addressed, deliver};
use callgate_adapters::kit::samples::{HttpSample, ProviderFixture};
use callgate_adapters::kit::{Adapter, Clock, FixedClock, SecretSet};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn samples_dir(id: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("webhook-samples")
        .join(id)
}

/// A connection for `adapter` with the fake secrets and options of its `provider.toml`.
async fn connection(app: &TestApp, adapter: &dyn Adapter, fixture: &ProviderFixture) -> String {
    let info = adapter.info();
    let secrets: BTreeMap<&str, &str> = info
        .secret_names()
        .filter_map(|n| fixture.secrets.current(n).map(|s| (n, s.expose())))
        .collect();
    let (status, body) = app
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(
                json!({"provider": info.id, "name": format!("{} samples", info.display_name),
                "secrets": secrets, "options": fixture.options}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{}: {body}", info.id);
    body["id"].as_str().unwrap().to_owned()
}

/// Every secret of the fixture (signing keys included), changed.
fn wrong_secrets(fixture: &ProviderFixture) -> SecretSet {
    let values: Vec<(&str, String)> = fixture
        .signing
        .names()
        .filter_map(|n| {
            fixture
                .signing
                .current(n)
                .map(|s| (n, format!("{}-wrong", s.expose())))
        })
        .collect();
    SecretSet::from_pairs(values.iter().map(|(n, v)| (*n, v.as_str())))
}

/// Each accepted sample of every provider, signed for the running server, is acknowledged
/// with the reply its `.expected.json` names, and its calls are listed. Before it, the same
/// delivery tampered, signed with the wrong secrets, or (timestamped schemes) signed past the
/// tolerance is refused with 401 `invalid_signature`.
#[tokio::test]
async fn every_provider_delivers_its_samples_and_refuses_forgeries() {
    let app = TestApp::spawn().await;
    let mut expected_calls = BTreeSet::new();
    for adapter in callgate_adapters::ADAPTERS {
        let info = adapter.info();
        let dir = samples_dir(info.id);
        let fixture =
            ProviderFixture::parse(&std::fs::read_to_string(dir.join("provider.toml")).unwrap())
                .unwrap();
        let conn = connection(&app, *adapter, &fixture).await;
        let wrong = wrong_secrets(&fixture);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".http") && !n.starts_with("reject-"))
            .collect();
        names.sort();
        for name in names {
            let what = format!("{}/{name}", info.id);
            let sample = HttpSample::parse(&std::fs::read(dir.join(&name)).unwrap()).unwrap();
            let expected: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(name.replace(".http", ".expected.json")))
                    .unwrap(),
            )
            .unwrap();
            let sign = |secrets: &SecretSet, clock: &dyn Clock| {
                addressed(&sample, *adapter, &conn, PUBLIC, secrets, clock).unwrap()
            };
            let (target, req) = sign(&fixture.signing, &SystemClock);

            let mut forgeries = vec![("wrong secrets", sign(&wrong, &SystemClock).1)];
            if info.signs_body && !req.body.is_empty() {
                let mut tampered = req.clone();
                let mut body = tampered.body.to_vec();
                let middle = body.len() / 2;
                body[middle] ^= 0x01;
                tampered.body = body.into();
                forgeries.push(("tampered", tampered));
            }
            if let Some(t) = info.timestamp_tolerance_secs {
                let past = FixedClock(
                    SystemClock.now() - time::Duration::seconds(t.saturating_mul(2) + 1),
                );
                forgeries.push(("stale", sign(&fixture.signing, &past).1));
            }
            for (how, forged) in forgeries {
                let (status, body) = deliver(&app.base, &target, &forged).await.unwrap();
                assert_eq!(status, 401, "{what} {how}: {body}");
                let error: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(error["error"]["code"], "invalid_signature", "{what} {how}");
            }

            let (status, body) = deliver(&app.base, &target, &req).await.unwrap();
            match expected["reply"]["type"].as_str() {
                Some("no_content") => assert_eq!((status, body.as_str()), (204, ""), "{what}"),
                Some("empty") => assert_eq!((status, body.as_str()), (200, ""), "{what}"),
                Some("markup") => {
                    assert_eq!(status, 200, "{what}: {body}");
                    assert_eq!(body, expected["reply"]["body"].as_str().unwrap(), "{what}");
                }
                other => panic!("{what}: unknown reply {other:?}"),
            }
            for event in expected["events"].as_array().unwrap() {
                expected_calls.insert(event["provider_call_id"].as_str().unwrap().to_owned());
            }
        }
    }
    // Every event's leg finds its call, the call's own id or another of its legs'.
    let mut missing = Vec::new();
    for id in &expected_calls {
        let query = format!("/api/v1/calls?provider_call_id={}", urlencoding(id));
        let (status, found) = app.api(Method::GET, &query, None).await;
        assert_eq!(status, 200, "{found}");
        // (The published samples of one provider may reuse an id, as a call and as another
        // call's leg: both are found.)
        if found["calls"].as_array().unwrap().is_empty() {
            missing.push(id);
        }
    }
    assert!(missing.is_empty(), "legs without their call: {missing:?}");
    app.stop().await;
}

/// `id` as one query value.
fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
