//! Real call topology end to end, through each provider's own webhooks: an agent's leg is part
//! of the customer's call and claims it for the agent whose phone answered (their console
//! alone hears the screen pop), a call forwarded from a tenant's local number is that
//! tenant's with its recording kept, and wrap-up keeps Go to Tenant after the end.

use crate::events::Stream;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CALLER: &str = "+15125550123";
const STANDARD_SECRET: &str = "whsec_dG9wb2xvZ3ktc2NlbmFyaW9zLXNlY3JldA==";
const TELNYX_SEED: &str = "topology-telnyx-seed";
const BW_USER: &str = "bw-topology-user";
const BW_PASSWORD: &str = "bw-topology-password";

/// Whose webhooks drive a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Twilio,
    Standard,
    Telnyx,
    Bandwidth,
}

/// A call's progress, as the scenarios report it.
#[derive(Debug, Clone, Copy)]
enum Step {
    Ringing,
    Answered,
    Completed,
}

struct Scenario {
    app: TestApp,
    conn: String,
    provider: Provider,
}

impl Scenario {
    async fn start(provider: Provider) -> Self {
        let app = TestApp::spawn().await;
        app.austin_directory().await;
        let conn = match provider {
            Provider::Twilio => app.twilio_connection("http://127.0.0.1:9").await,
            Provider::Standard => {
                app.connection("standard", json!({"secret": STANDARD_SECRET}), json!({}))
                    .await
            }
            Provider::Telnyx => {
                let key = callgate_adapters::telnyx::signature::signing_key(TELNYX_SEED);
                use base64::Engine;
                let public = base64::engine::general_purpose::STANDARD
                    .encode(key.verifying_key().to_bytes());
                app.connection(
                    "telnyx",
                    json!({"public_key": public, "api_key": "KEYtopology"}),
                    json!({"api_base_url": "http://127.0.0.1:9"}),
                )
                .await
            }
            Provider::Bandwidth => {
                app.connection(
                    "bandwidth",
                    json!({"callback_username": BW_USER, "callback_password": BW_PASSWORD,
                           "api_username": "u", "api_password": "p", "account_id": "9900001"}),
                    json!({"api_base_url": "http://127.0.0.1:9"}),
                )
                .await
            }
        };
        Self {
            app,
            conn,
            provider,
        }
    }

    /// Delivers a body, signed as the provider signs it; 2xx expected.
    async fn deliver(&self, body: &str) {
        let res = match self.provider {
            Provider::Twilio => unreachable!("form bodies go through deliver_all"),
            Provider::Standard => {
                self.app
                    .signed_webhook(
                        "standard",
                        &self.conn,
                        "application/json",
                        body,
                        &[("secret", STANDARD_SECRET)],
                    )
                    .await
            }
            Provider::Telnyx => {
                self.app
                    .signed_webhook(
                        "telnyx",
                        &self.conn,
                        "application/json",
                        body,
                        &[("signing_key", TELNYX_SEED)],
                    )
                    .await
            }
            Provider::Bandwidth => {
                self.app
                    .signed_webhook(
                        "bandwidth",
                        &self.conn,
                        "application/json",
                        body,
                        &[
                            ("callback_username", BW_USER),
                            ("callback_password", BW_PASSWORD),
                        ],
                    )
                    .await
            }
        };
        let status = res.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            res.text().await.unwrap()
        );
    }

    /// The customer's call `call` to `to`, at `step`, forwarded from `forwarded_from`.
    async fn customer(&self, call: &str, to: &str, forwarded_from: Option<&str>, step: Step) {
        match self.provider {
            Provider::Twilio => {
                let mut form = status(call, CALLER, to, twilio_status(step), seq(step), TS);
                if let Some(f) = forwarded_from {
                    form.push(("ForwardedFrom", f.to_owned()));
                }
                deliver_all(&self.app, &self.conn, &[form]).await;
            }
            Provider::Standard => {
                let mut body = json!({"type": standard_type(step), "call_id": call,
                    "from": CALLER, "to": to, "direction": "inbound"});
                if let Some(f) = forwarded_from {
                    body["forwarded_from"] = json!(f);
                    body["routing_reason"] = json!("overflow");
                }
                self.deliver(&body.to_string()).await;
            }
            Provider::Telnyx => {
                assert!(forwarded_from.is_none(), "Telnyx reports no forwarding");
                let body = telnyx_event(
                    step,
                    call,
                    &format!("session-{call}"),
                    CALLER,
                    to,
                    "incoming",
                );
                self.deliver(&body).await;
            }
            Provider::Bandwidth => {
                let mut extra = match step {
                    Step::Ringing => json!({}),
                    Step::Answered => json!({"answerTime": "2026-11-23T18:05:03.000Z"}),
                    Step::Completed => {
                        json!({"cause": "hangup", "endTime": "2026-11-23T18:07:00.000Z"})
                    }
                };
                if let Some(f) = forwarded_from {
                    extra["diversion"] = json!({"origTo": f, "reason": "no-answer"});
                }
                let body = bandwidth_callback(bandwidth_type(step), call, CALLER, to, extra);
                self.deliver(&body).await;
            }
        }
    }

    /// The agent leg `leg` of the call `call`, dialed to `identity`, at `step`.
    async fn agent_leg(&self, call: &str, leg: &str, identity: &str, step: Step) {
        match self.provider {
            Provider::Twilio => {
                let form = agent_leg(call, leg, identity, twilio_status(step), seq(step), TS);
                deliver_all(&self.app, &self.conn, &[form]).await;
            }
            Provider::Standard => {
                let body = json!({"type": standard_type(step), "call_id": leg,
                    "parent_call_id": call, "agent_identity": identity,
                    "from": TOLL_FREE, "to": identity, "direction": "outbound"});
                self.deliver(&body.to_string()).await;
            }
            Provider::Telnyx => {
                let body = telnyx_event(
                    step,
                    leg,
                    &format!("session-{call}"),
                    TOLL_FREE,
                    identity,
                    "outgoing",
                );
                self.deliver(&body).await;
            }
            Provider::Bandwidth => {
                let event_type = match step {
                    Step::Ringing => return,
                    Step::Answered => "transferAnswer",
                    Step::Completed => "transferDisconnect",
                };
                let extra = json!({"parentCallId": call, "transferTo": identity,
                    "transferCallerId": TOLL_FREE, "cause": "hangup"});
                let body = bandwidth_callback(event_type, leg, CALLER, TOLL_FREE, extra);
                self.deliver(&body).await;
            }
        }
    }

    /// A completed recording of the call.
    async fn recording(&self, call: &str, rec: &str) {
        match self.provider {
            Provider::Twilio => {
                deliver_all(&self.app, &self.conn, &[recording(call, rec, "completed")]).await;
            }
            Provider::Standard => {
                let body = json!({"type": "recording.completed", "call_id": call,
                    "recording": {"id": rec, "duration_s": 40}});
                self.deliver(&body.to_string()).await;
            }
            Provider::Telnyx => {
                let body = json!({"data": {"record_type": "event", "event_type": "call.recording.saved",
                    "id": format!("ev-{rec}"), "occurred_at": "2026-11-23T18:07:01.000000Z",
                    "payload": {"call_leg_id": call, "call_control_id": format!("v3:{call}"),
                        "call_session_id": format!("session-{call}"), "recording_id": rec,
                        "recording_urls": {"mp3": format!("https://s3.example/{rec}.mp3")}}}});
                self.deliver(&body.to_string()).await;
            }
            Provider::Bandwidth => {
                let extra = json!({"recordingId": rec, "duration": "PT40S", "status": "complete",
                    "mediaUrl": format!("https://voice.bandwidth.com/{rec}/media")});
                let body = bandwidth_callback("recordingAvailable", call, CALLER, TOLL_FREE, extra);
                self.deliver(&body).await;
            }
        }
    }

    async fn calls(&self) -> Vec<Value> {
        let (s, v) = self.app.api(Method::GET, "/api/v1/calls", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["calls"].as_array().unwrap().clone()
    }
}

const TS: &str = "Mon, 23 Nov 2026 18:05:01 +0000";

fn seq(step: Step) -> u32 {
    step as u32
}

fn twilio_status(step: Step) -> &'static str {
    match step {
        Step::Ringing => "ringing",
        Step::Answered => "in-progress",
        Step::Completed => "completed",
    }
}

fn standard_type(step: Step) -> &'static str {
    match step {
        Step::Ringing => "call.ringing",
        Step::Answered => "call.answered",
        Step::Completed => "call.completed",
    }
}

fn bandwidth_type(step: Step) -> &'static str {
    match step {
        Step::Ringing => "initiate",
        Step::Answered => "answer",
        Step::Completed => "disconnect",
    }
}

fn telnyx_event(
    step: Step,
    leg: &str,
    session: &str,
    from: &str,
    to: &str,
    direction: &str,
) -> String {
    let (event_type, extra) = match step {
        Step::Ringing => ("call.initiated", json!({"state": "parked"})),
        Step::Answered => ("call.answered", json!({})),
        Step::Completed => ("call.hangup", json!({"hangup_cause": "normal_clearing"})),
    };
    let payload = merged(
        json!({"call_control_id": format!("v3:{leg}"), "call_leg_id": leg,
            "call_session_id": session, "from": from, "to": to, "direction": direction}),
        extra,
    );
    json!({"data": {"record_type": "event", "event_type": event_type,
        "id": format!("ev-{leg}-{event_type}"), "occurred_at": "2026-11-23T18:05:01.000000Z",
        "payload": payload}})
    .to_string()
}

fn bandwidth_callback(event_type: &str, call: &str, from: &str, to: &str, extra: Value) -> String {
    let body = json!({
        "eventType": event_type, "eventTime": "2026-11-23T18:05:01.554Z",
        "accountId": "9900001", "applicationId": "3f2b8c1d-6e4a-4b9f-a1c2-7d8e9f0a1b2c",
        "from": from, "to": to, "direction": "inbound", "callId": call,
        "startTime": "2026-11-23T18:05:01.234Z",
    });
    merged(body, extra).to_string()
}

/// A call id in the provider's shape.
fn call_id(provider: Provider, n: u32) -> String {
    match provider {
        Provider::Twilio => format!("CA{n:032x}"),
        Provider::Bandwidth => format!("c-{n:08x}-topology"),
        _ => format!("call-{n}"),
    }
}

/// Kinds of events, a screen pop among them.
const CONSOLE_TYPES: &str = "?types=call.updated,screen_pop";

/// A national call answered by an agent's leg: one call, claimed for the agent whose phone
/// answered, the screen pop pushed to that agent's stream alone; the hub shows it, and after
/// the end keeps it for wrap-up with Go to Tenant.
async fn answered_by_an_agents_phone(provider: Provider) {
    let sc = Scenario::start(provider).await;
    let app = &sc.app;
    app.user("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let (s, v) = app
        .api(
            Method::PUT,
            "/api/v1/users/ana",
            Some(
                json!({"name": "Ana", "permissions": ["contact_center.view"],
                "tenant_ids": ["t-austin"], "identities": ["client:ana"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, ana) = app.token("ana").await;
    app.user("bo", &["contact_center.view"], &["t-austin"])
        .await;
    let (_, bo) = app.token("bo").await;
    // Ana asks for the default kinds: her screen pop reaches her all the same.
    let mut ana_stream = Stream::open_for(app, &ana, "", None).await;
    let mut bo_stream = Stream::open_for(app, &bo, CONSOLE_TYPES, None).await;

    let (call, leg) = (call_id(provider, 1), call_id(provider, 2));
    sc.customer(&call, TOLL_FREE, None, Step::Ringing).await;
    sc.customer(&call, TOLL_FREE, None, Step::Answered).await;
    sc.agent_leg(&call, &leg, "client:ana", Step::Ringing).await;
    sc.agent_leg(&call, &leg, "client:ana", Step::Answered)
        .await;

    let calls = sc.calls().await;
    assert_eq!(
        calls.len(),
        1,
        "{provider:?}: one call, never the leg: {calls:?}"
    );
    let c = &calls[0];
    assert_eq!(c["provider_call_id"], call.as_str(), "{provider:?}");
    assert_eq!(c["agent_id"], "ana", "{provider:?}: {c}");
    assert_eq!(c["tenant"]["status"], "pending");
    let legs = c["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2, "{provider:?}: {legs:?}");
    assert_eq!(
        (&legs[0]["provider_call_id"], &legs[0]["role"]),
        (&json!(call), &json!("customer"))
    );
    assert_eq!(legs[1]["provider_call_id"], leg.as_str());
    assert_eq!(legs[1]["role"], "agent", "{provider:?}: {legs:?}");
    assert_eq!(legs[1]["agent_id"], "ana");
    let call_id = c["id"].as_str().unwrap().to_owned();

    let (_, found) = app
        .api(
            Method::GET,
            &format!("/api/v1/calls?provider_call_id={leg}"),
            None,
        )
        .await;
    assert_eq!(
        found["calls"][0]["id"],
        call_id.as_str(),
        "found by its leg"
    );

    // Ana's console pops the call; Bo's never does.
    let pop = loop {
        let e = ana_stream.next().await;
        if e.event == "screen_pop" {
            break e.data;
        }
    };
    assert_eq!(pop["type"], "screen_pop");
    assert_eq!(pop["screen_pop"]["call_id"], call_id.as_str());
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"]["call_id"], call_id.as_str(), "{hub}");

    // Ana enters the tenant; the call ends; wrap-up keeps Go to Tenant.
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{call_id}/tenant"),
            Some(json!({"tenant_id": "t-austin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sc.agent_leg(&call, &leg, "client:ana", Step::Completed)
        .await;
    sc.customer(&call, TOLL_FREE, None, Step::Completed).await;
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(hub["active_call"], Value::Null, "{hub}");
    assert_eq!(hub["last_call"]["call_id"], call_id.as_str(), "{hub}");
    let (s, v) = app
        .api_as(
            &ana,
            Method::POST,
            &format!("/api/v1/calls/{call_id}/go-to-tenant"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Bo heard the call's updates, and no screen pop, up to the call's end.
    loop {
        let e = bo_stream.next().await;
        assert_ne!(e.event, "screen_pop", "{provider:?}: {e:?}");
        if e.data["call"]["state"] == "completed" {
            break;
        }
    }
    sc.app.stop().await;
}

/// An overflow call forwarded from a tenant's local number: that tenant's at once, via
/// `forwarded_from`, and its recording kept.
async fn forwarded_from_a_local_number(provider: Provider) {
    let sc = Scenario::start(provider).await;
    let call = call_id(provider, 7);
    sc.customer(&call, TOLL_FREE, Some(AUSTIN_LOCAL), Step::Ringing)
        .await;
    let c = sc.app.call_by_sid(&call).await;
    assert_eq!(
        c["tenant"],
        json!({"status": "resolved", "tenant_id": "t-austin", "via": "forwarded_from"}),
        "{provider:?}: {c}"
    );
    assert_eq!(c["forwarded_from"], AUSTIN_LOCAL);
    sc.recording(&call, "RE00000000000000000000000000000077")
        .await;
    sc.customer(&call, TOLL_FREE, Some(AUSTIN_LOCAL), Step::Completed)
        .await;
    let c = sc.app.call_by_sid(&call).await;
    assert_eq!(c["state"], "completed");
    assert_eq!(c["recording"]["status"], "saved", "{provider:?}: {c}");
    if provider != Provider::Bandwidth {
        assert_eq!(
            c["routing_reason"],
            if provider == Provider::Standard {
                json!("overflow")
            } else {
                Value::Null
            }
        );
    } else {
        assert_eq!(c["routing_reason"], "overflow", "no-answer is an overflow");
    }
    sc.app.stop().await;
}

#[tokio::test]
async fn twilio_an_agents_client_leg_claims_the_call_for_that_agent() {
    answered_by_an_agents_phone(Provider::Twilio).await;
}

#[tokio::test]
async fn standard_an_agents_leg_claims_the_call_for_that_agent() {
    answered_by_an_agents_phone(Provider::Standard).await;
}

#[tokio::test]
async fn telnyx_an_agents_leg_in_the_session_claims_the_call_for_that_agent() {
    answered_by_an_agents_phone(Provider::Telnyx).await;
}

#[tokio::test]
async fn bandwidth_a_transfer_answered_by_an_agent_claims_the_call_for_that_agent() {
    answered_by_an_agents_phone(Provider::Bandwidth).await;
}

#[tokio::test]
async fn twilio_a_call_forwarded_from_a_local_number_is_that_tenants() {
    forwarded_from_a_local_number(Provider::Twilio).await;
}

#[tokio::test]
async fn standard_a_call_forwarded_from_a_local_number_is_that_tenants() {
    forwarded_from_a_local_number(Provider::Standard).await;
}

#[tokio::test]
async fn bandwidth_a_diverted_call_is_the_tenant_of_its_original_number() {
    forwarded_from_a_local_number(Provider::Bandwidth).await;
}

/// Find Tenant (the tab was closed before entering) never prefills; the first tenant
/// entered from the call's own prompt does, on a call reported by any provider.
async fn find_tenant_never_prefills(provider: Provider) {
    let sc = Scenario::start(provider).await;
    let app = &sc.app;
    app.tenant("t-round-rock", &["78664"], &["hvac"]).await;
    let mut calls = Vec::new();
    for n in [11, 12] {
        let call = call_id(provider, n);
        sc.customer(&call, TOLL_FREE, None, Step::Answered).await;
        calls.push(
            app.call_by_sid(&call).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let enter = |id: &str, body: Value| {
        let path = format!("/api/v1/calls/{id}/tenant");
        async move { app.api(Method::POST, &path, Some(body)).await }
    };
    let (s, v) = enter(&calls[0], json!({"tenant_id": "t-austin", "find": true})).await;
    assert_eq!(s, StatusCode::OK, "{provider:?}: {v}");
    assert_eq!(
        (
            &v["screen_pop"]["call_bubble_selected"],
            &v["screen_pop"]["customer_prefilled"]
        ),
        (&json!(false), &json!(false)),
        "{provider:?}: Find Tenant never prefills: {v}"
    );
    let (s, v) = enter(&calls[1], json!({"tenant_id": "t-austin"})).await;
    assert_eq!(s, StatusCode::OK, "{provider:?}: {v}");
    assert_eq!(
        v["screen_pop"]["call_bubble_selected"], true,
        "{provider:?}: the first entry from the prompt prefills: {v}"
    );
    sc.app.stop().await;
}

#[tokio::test]
async fn twilio_find_tenant_never_prefills() {
    find_tenant_never_prefills(Provider::Twilio).await;
}

#[tokio::test]
async fn standard_find_tenant_never_prefills() {
    find_tenant_never_prefills(Provider::Standard).await;
}

#[tokio::test]
async fn telnyx_find_tenant_never_prefills() {
    find_tenant_never_prefills(Provider::Telnyx).await;
}

#[tokio::test]
async fn bandwidth_find_tenant_never_prefills() {
    find_tenant_never_prefills(Provider::Bandwidth).await;
}
