//! Chats, web bookings and the hub.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CUSTOMER: &str = "+15125550123";

async fn message(
    app: &TestApp,
    tenant: &str,
    thread: &str,
    from: &str,
    direction: &str,
) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        &format!("/api/v1/tenants/{tenant}/chat-messages"),
        Some(json!({"thread_id": thread, "from": from, "direction": direction, "body": "Is anyone there?"})),
    )
    .await
}

/// An app with the tenants t-austin and t-dallas.
async fn austin_and_dallas() -> TestApp {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.tenant("t-dallas", &["75201"], &["hvac"]).await;
    app
}

async fn outbound(app: &TestApp, tenant: &str, thread: &str) -> Value {
    let (s, v) = message(app, tenant, thread, "+15125550100", "outbound").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn thread_action(app: &TestApp, thread: &str, action: &str) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        &format!("/api/v1/chat-threads/{thread}/{action}"),
        None,
    )
    .await
}

/// The hub's chat entry of a tenant: (unread_threads, unanswered_messages).
async fn chat_counts(app: &TestApp, tenant: &str) -> (u64, u64) {
    let hub = app.get("/api/v1/hub").await;
    let entry = hub["chats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant_id"] == tenant)
        .unwrap_or_else(|| panic!("{tenant} is not in the hub: {hub}"))
        .clone();
    (
        entry["unread_threads"].as_u64().unwrap(),
        entry["unanswered_messages"].as_u64().unwrap(),
    )
}

async fn unbooked(app: &TestApp, tenant: &str) -> u64 {
    let hub = app.get("/api/v1/hub").await;
    hub["web_bookings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant_id"] == tenant)
        .unwrap_or_else(|| panic!("{tenant} is not in the hub: {hub}"))["unbooked"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn chat_counts_follow_messages_and_thread_actions() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    assert_eq!(chat_counts(&app, "t-austin").await, (0, 0));

    let v = app.inbound_chat("t-austin", "th-1").await;
    assert_eq!(v["counted"], true);
    assert_eq!(v["thread"]["state"], "open");
    assert_eq!(v["thread"]["customer"], CUSTOMER);
    app.inbound_chat("t-austin", "th-1").await;
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 2));
    app.inbound_chat("t-austin", "th-2").await;
    assert_eq!(chat_counts(&app, "t-austin").await, (2, 3));

    // A reply answers its thread's messages; the thread stays unread.
    let v = outbound(&app, "t-austin", "th-1").await;
    assert_eq!(v["thread"]["unanswered_messages"], 0);
    assert_eq!(v["thread"]["unread"], true);
    assert_eq!(chat_counts(&app, "t-austin").await, (2, 1));

    let (s, v) = thread_action(&app, "th-1", "mark-read").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["unread"], false);
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 1));
    let (s, _) = thread_action(&app, "th-1", "mark-unread").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(chat_counts(&app, "t-austin").await, (2, 1));

    // A closed thread counts nothing; an inbound message re-opens it.
    let (s, v) = thread_action(&app, "th-2", "close").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "closed");
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 0));
    outbound(&app, "t-austin", "th-2").await;
    assert_eq!(
        chat_counts(&app, "t-austin").await,
        (1, 0),
        "a reply does not re-open"
    );
    let v = app.inbound_chat("t-austin", "th-2").await;
    assert_eq!(v["thread"]["state"], "open");
    assert_eq!(v["thread"]["unanswered_messages"], 1);
    assert_eq!(chat_counts(&app, "t-austin").await, (2, 1));

    let threads = app.get("/api/v1/tenants/t-austin/chat-threads").await;
    let threads = threads["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 2);
    assert_eq!(
        threads[0]["thread_id"], "th-2",
        "most recently active first"
    );
    assert_eq!(threads[0]["messages"], 3);
    assert_eq!(threads[1]["unread"], true);
    let closed = app
        .get("/api/v1/tenants/t-austin/chat-threads?state=closed")
        .await;
    assert_eq!(closed["threads"], json!([]));

    for (action, n) in [
        ("chat.thread_marked_read", 1),
        ("chat.thread_marked_unread", 1),
        ("chat.thread_closed", 1),
        ("chat.thread_reopened", 1),
    ] {
        let rows = audit_rows(&app, action).await;
        assert_eq!(rows.len(), n, "{action}");
        assert_eq!(rows[0].0, "bootstrap", "{action}: the acting principal");
        assert_eq!(rows[0].1.as_deref(), Some("t-austin"));
    }
    assert_eq!(
        audit_rows(&app, "chat.thread_closed").await[0].2["thread_id"],
        "th-2"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_blocked_sender_is_kept_and_audited_but_not_counted() {
    let app = austin_and_dallas().await;
    app.inbound_chat("t-austin", "th-spam").await;
    app.inbound_chat("t-austin", "th-spam").await;
    let (s, v) = message(&app, "t-austin", "th-other", "+15125550999", "inbound").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(chat_counts(&app, "t-austin").await, (2, 3));

    let (s, v) = thread_action(&app, "th-spam", "block-spam").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "spam");
    assert_eq!(
        chat_counts(&app, "t-austin").await,
        (1, 1),
        "out of the counts"
    );

    // Later messages of the sender to that tenant: 202, kept, not counted.
    for thread in ["th-spam", "th-new"] {
        let (s, v) = message(&app, "t-austin", thread, CUSTOMER, "inbound").await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["counted"], false);
    }
    // A reply on the spam thread is kept, not counted.
    let (s, _) = message(&app, "t-austin", "th-spam", "+15125550100", "outbound").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 1));
    assert_eq!(
        count_rows(&app, "chat_messages").await,
        6,
        "every message is kept"
    );
    let blocked = audit_rows(&app, "chat.message_blocked").await;
    assert_eq!(blocked.len(), 3);
    assert_eq!(blocked[0].2["sender"], CUSTOMER);
    let spam = audit_rows(&app, "chat.sender_blocked").await;
    assert_eq!(spam.len(), 1);
    assert_eq!(spam[0].0, "bootstrap");
    assert_eq!(spam[0].2["sender"], CUSTOMER);

    // Blocked for that tenant only.
    let (s, _) = message(&app, "t-dallas", "th-d", CUSTOMER, "inbound").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(chat_counts(&app, "t-dallas").await, (1, 1));

    // Spam threads are not listed unless asked for.
    let listed = app.get("/api/v1/tenants/t-austin/chat-threads").await;
    let ids: Vec<_> = listed["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["thread_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["th-other"]);
    let spam = app
        .get("/api/v1/tenants/t-austin/chat-threads?state=spam")
        .await;
    assert_eq!(spam["threads"].as_array().unwrap().len(), 2);

    for action in ["mark-read", "mark-unread", "close"] {
        let (s, v) = thread_action(&app, "th-spam", action).await;
        assert_eq!(s, StatusCode::CONFLICT, "{action}");
        assert_eq!(v["error"]["code"], "thread_is_spam");
    }
    let (s, _) = thread_action(&app, "th-spam", "block-spam").await;
    assert_eq!(s, StatusCode::OK, "blocking again changes nothing");

    // A thread with only a reply has no sender to block.
    outbound(&app, "t-austin", "th-reply-only").await;
    let (s, v) = thread_action(&app, "th-reply-only", "block-spam").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "no_customer");
    app.stop().await;
}

#[tokio::test]
async fn message_ids_make_posts_idempotent() {
    let app = austin_and_dallas().await;

    let post = |body: &'static str| {
        app.api(
            Method::POST,
            "/api/v1/tenants/t-austin/chat-messages",
            Some(json!({"message_id": "m-1", "thread_id": "th-2", "from": CUSTOMER, "direction": "inbound", "body": body})),
        )
    };
    let (s, first) = post("Hello").await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["message_id"], "m-1");
    assert_eq!(first["duplicate"], false);
    let (s, again) = post("Hello").await;
    assert_eq!(s, StatusCode::CREATED, "the same answer again");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["thread"]["unanswered_messages"], 1, "counted once");
    let (s, v) = post("Something else").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "message_id_reused");
    assert_eq!(count_rows(&app, "chat_messages").await, 1);
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 1));

    let (s, v) = message(&app, "t-nope", "th-9", CUSTOMER, "inbound").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tenant_not_found"))
    );
    let (s, v) = thread_action(&app, "th-nope", "close").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("thread_not_found"))
    );
    let (s, v) = app
        .api(Method::GET, "/api/v1/tenants/t-nope/chat-threads", None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tenant_not_found"))
    );
    app.stop().await;
}

#[tokio::test]
async fn web_bookings_count_until_booked() {
    let app = austin_and_dallas().await;
    let (s, v) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "unbooked");
    assert_eq!(v["phone"], "+15125550123");
    app.web_booking("t-austin", "wb-2", "John Roe").await;
    assert_eq!(unbooked(&app, "t-austin").await, 2);

    // The same booking again is idempotent; the same id with other details is refused.
    let (s, again) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again, v);
    let (s, e) = app.web_booking("t-austin", "wb-1", "Someone Else").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("booking_id_conflict"))
    );
    assert_eq!(unbooked(&app, "t-austin").await, 2);

    let (s, b) = app
        .api(Method::POST, "/api/v1/web-bookings/wb-1/booked", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "booked");
    assert_eq!(b["booked_by"], "bootstrap");
    assert_eq!(unbooked(&app, "t-austin").await, 1, "it no longer counts");
    let (s, b2) = app
        .api(Method::POST, "/api/v1/web-bookings/wb-1/booked", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b2["booked_at"], b["booked_at"],
        "booking again changes nothing"
    );
    let audit = audit_rows(&app, "booking.booked").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "bootstrap");
    assert_eq!(audit[0].2["booking_id"], "wb-1");
    let (s, v) = app
        .api(Method::POST, "/api/v1/web-bookings/wb-nope/booked", None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("booking_not_found"))
    );
    let (s, _) = app.web_booking("t-nope", "wb-9", "Jane Doe").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A status callback of a call from CUSTOMER to the national number, `seq` minutes in.
async fn national_call_status(app: &TestApp, conn: &str, sid: &str, call_status: &str, seq: u32) {
    let ts = format!("Mon, 23 Nov 2026 18:{seq:02}:01 +0000");
    deliver_all(
        app,
        conn,
        &[status(sid, CUSTOMER, "+18005550199", call_status, seq, &ts)],
    )
    .await;
}

#[tokio::test]
async fn the_hub_shows_the_active_call_and_orders_tenants_by_unanswered_messages() {
    let app = TestApp::spawn().await;
    let hub = app.get("/api/v1/hub").await;
    assert_eq!(
        hub,
        json!({"active_call": null, "last_call": null, "chats": [], "web_bookings": []})
    );

    app.tenant("t-a", &["78701"], &["hvac"]).await;
    app.tenant("t-b", &["78701"], &["hvac"]).await;
    app.tenant("t-c", &["78701"], &["hvac"]).await;
    for _ in 0..3 {
        app.inbound_chat("t-b", "th-b").await;
    }
    app.inbound_chat("t-a", "th-a").await;
    app.inbound_chat("t-c", "th-c").await;
    app.web_booking("t-c", "wb-c", "Jane Doe").await;

    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.number("+18005550199", json!({"kind": "national"}))
        .await;
    let sid = "CA90000000000000000000000000000001";
    national_call_status(&app, &conn, sid, "in-progress", 0).await;
    let call = app.call_by_sid(sid).await;
    let (s, claimed) = app
        .api(
            Method::POST,
            &format!("/api/v1/calls/{}/claim", call["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{claimed}");

    let hub = app.get("/api/v1/hub").await;
    assert_eq!(hub["active_call"], claimed["screen_pop"]);
    assert_eq!(hub["active_call"]["needs_tenant"], true);
    assert_eq!(
        hub["chats"],
        json!([
            {"tenant_id": "t-b", "name": "Tenant t-b", "unread_threads": 1, "unanswered_messages": 3, "url": "https://t-b.example.com/bookings"},
            {"tenant_id": "t-a", "name": "Tenant t-a", "unread_threads": 1, "unanswered_messages": 1, "url": "https://t-a.example.com/bookings"},
            {"tenant_id": "t-c", "name": "Tenant t-c", "unread_threads": 1, "unanswered_messages": 1, "url": "https://t-c.example.com/bookings"},
        ])
    );
    // Each entry carries exactly the tenant, its name, the unbooked count and the page.
    assert_eq!(
        hub["web_bookings"],
        json!([
            {"tenant_id": "t-c", "name": "Tenant t-c", "unbooked": 1, "url": "https://t-c.example.com/bookings"},
            {"tenant_id": "t-a", "name": "Tenant t-a", "unbooked": 0, "url": "https://t-a.example.com/bookings"},
            {"tenant_id": "t-b", "name": "Tenant t-b", "unbooked": 0, "url": "https://t-b.example.com/bookings"},
        ])
    );

    // The call ends: no active call any more.
    national_call_status(&app, &conn, sid, "completed", 1).await;
    assert_eq!(app.get("/api/v1/hub").await["active_call"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn bad_feed_input_gets_clear_4xx_json_errors_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let msg = "/api/v1/tenants/t-austin/chat-messages";
    let wb = "/api/v1/tenants/t-austin/web-bookings";
    let cases: Vec<(&str, Method, &str, Option<Value>, u16)> = vec![
        (
            "unknown direction",
            Method::POST,
            msg,
            Some(
                json!({"thread_id": "th-1", "from": CUSTOMER, "direction": "sideways", "body": "x"}),
            ),
            400,
        ),
        (
            "missing thread",
            Method::POST,
            msg,
            Some(json!({"from": CUSTOMER, "direction": "inbound", "body": "x"})),
            400,
        ),
        (
            "unknown field",
            Method::POST,
            msg,
            Some(
                json!({"thread_id": "th-1", "from": CUSTOMER, "direction": "inbound", "body": "x", "colour": 1}),
            ),
            400,
        ),
        (
            "bad thread id",
            Method::POST,
            msg,
            Some(
                json!({"thread_id": "th 1", "from": CUSTOMER, "direction": "inbound", "body": "x"}),
            ),
            400,
        ),
        (
            "bad message id",
            Method::POST,
            msg,
            Some(
                json!({"message_id": "", "thread_id": "th-1", "from": CUSTOMER, "direction": "inbound", "body": "x"}),
            ),
            400,
        ),
        (
            "bad number",
            Method::POST,
            msg,
            Some(json!({"thread_id": "th-1", "from": "+1", "direction": "inbound", "body": "x"})),
            400,
        ),
        (
            "empty sender",
            Method::POST,
            msg,
            Some(json!({"thread_id": "th-1", "from": " ", "direction": "inbound", "body": "x"})),
            422,
        ),
        (
            "blank body",
            Method::POST,
            msg,
            Some(
                json!({"thread_id": "th-1", "from": CUSTOMER, "direction": "inbound", "body": "  "}),
            ),
            422,
        ),
        (
            "bad tenant id",
            Method::POST,
            "/api/v1/tenants/t%20x/chat-messages",
            Some(
                json!({"thread_id": "th-1", "from": CUSTOMER, "direction": "inbound", "body": "x"}),
            ),
            400,
        ),
        (
            "unknown thread state",
            Method::GET,
            "/api/v1/tenants/t-austin/chat-threads?state=lost",
            None,
            400,
        ),
        (
            "bad limit",
            Method::GET,
            "/api/v1/tenants/t-austin/chat-threads?limit=0",
            None,
            400,
        ),
        (
            "bad booking id",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb 1", "customer_name": "Jane", "phone": CUSTOMER, "zip": "78701", "trade": "hvac"}),
            ),
            400,
        ),
        (
            "bad phone",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb-1", "customer_name": "Jane", "phone": "555-0100", "zip": "78701", "trade": "hvac"}),
            ),
            400,
        ),
        (
            "bad zip",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb-1", "customer_name": "Jane", "phone": CUSTOMER, "zip": "7", "trade": "hvac"}),
            ),
            422,
        ),
        (
            "bad trade",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb-1", "customer_name": "Jane", "phone": CUSTOMER, "zip": "78701", "trade": "HVAC"}),
            ),
            422,
        ),
        (
            "empty name",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb-1", "customer_name": "", "phone": CUSTOMER, "zip": "78701", "trade": "hvac"}),
            ),
            422,
        ),
        (
            "missing zip",
            Method::POST,
            wb,
            Some(
                json!({"booking_id": "wb-1", "customer_name": "Jane", "phone": CUSTOMER, "trade": "hvac"}),
            ),
            400,
        ),
        (
            "bad booking path",
            Method::POST,
            "/api/v1/web-bookings/wb%201/booked",
            None,
            400,
        ),
        (
            "bad thread path",
            Method::POST,
            "/api/v1/chat-threads/th%201/close",
            None,
            400,
        ),
        ("hub by POST", Method::POST, "/api/v1/hub", None, 405),
    ];
    for (name, method, path, body, want) in cases {
        let (s, v) = app.api(method, path, body).await;
        assert_eq!(s.as_u16(), want, "{name}: {v}");
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{name}: {v}"
        );
    }
    let res = app
        .http
        .post(format!("{}{msg}", app.base))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for path in ["/api/v1/hub", "/api/v1/tenants/t-austin/chat-threads"] {
        let (s, _) = app.api_as("wrong-token", Method::GET, path, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
    for table in ["chat_messages", "chat_threads", "web_bookings"] {
        assert_eq!(
            count_rows(&app, table).await,
            0,
            "{table}: nothing half-written"
        );
    }
    app.stop().await;
}

/// Agents with different tenants: each hub, thread list, thread action and booking mark
/// holds only the agent's own tenants.
#[tokio::test]
async fn agents_see_and_act_on_their_own_tenants_feeds_only() {
    let app = austin_and_dallas().await;
    app.inbound_chat("t-austin", "th-a1").await;
    app.inbound_chat("t-dallas", "th-d1").await;
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/tenants/t-dallas/web-bookings",
            Some(json!({"booking_id": "wb-d1", "customer_name": "Jo", "phone": CUSTOMER, "zip": "75201", "trade": "hvac"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let bob = app
        .user_token("bob", &["contact_center.view"], &["t-dallas"])
        .await;

    let tenants_of = |hub: &Value, list: &str| -> Vec<String> {
        hub[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["tenant_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let hub = app.get_as(&ana, "/api/v1/hub").await;
    assert_eq!(tenants_of(&hub, "chats"), ["t-austin"], "{hub}");
    assert_eq!(tenants_of(&hub, "web_bookings"), ["t-austin"], "{hub}");
    assert_eq!(hub["chats"][0]["unanswered_messages"], 1);
    let hub = app.get_as(&bob, "/api/v1/hub").await;
    assert_eq!(tenants_of(&hub, "chats"), ["t-dallas"], "{hub}");
    assert_eq!(hub["web_bookings"][0]["unbooked"], 1);

    // Another tenant's threads and bookings: refused, and nothing changes.
    let (s, _) = app
        .api_as(
            &ana,
            Method::GET,
            "/api/v1/tenants/t-dallas/chat-threads",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .api_as(
            &ana,
            Method::POST,
            "/api/v1/chat-threads/th-d1/mark-read",
            None,
        )
        .await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "{s}"
    );
    let (s, _) = app
        .api_as(
            &ana,
            Method::POST,
            "/api/v1/web-bookings/wb-d1/booked",
            None,
        )
        .await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "{s}"
    );
    assert_eq!(chat_counts(&app, "t-dallas").await, (1, 1));
    assert_eq!(unbooked(&app, "t-dallas").await, 1);

    // Their own: allowed.
    let (s, v) = app
        .api_as(
            &bob,
            Method::POST,
            "/api/v1/chat-threads/th-d1/mark-read",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .api_as(
            &bob,
            Method::POST,
            "/api/v1/web-bookings/wb-d1/booked",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(chat_counts(&app, "t-dallas").await, (0, 1));
    assert_eq!(unbooked(&app, "t-dallas").await, 0);
}

/// `feeds.write` limited to a tenant posts to that tenant only: another tenant's chat
/// messages and web bookings are refused 403, and nothing is written.
#[tokio::test]
async fn a_feed_writer_posts_to_its_own_tenants_only() {
    let app = austin_and_dallas().await;
    let feed = app
        .user_token("austin-site", &["feeds.write"], &["t-austin"])
        .await;
    let chat =
        json!({"thread_id": "th-1", "from": CUSTOMER, "direction": "inbound", "body": "Hello"});
    let booking = json!({"booking_id": "wb-1", "customer_name": "Jo", "phone": CUSTOMER, "zip": "75201", "trade": "hvac"});
    let post = async |tenant: &str, what: &str, body: &Value| {
        let path = format!("/api/v1/tenants/{tenant}/{what}");
        app.api_as(&feed, Method::POST, &path, Some(body.clone()))
            .await
    };
    for tenant in ["t-dallas", "t-nope"] {
        let (s, v) = post(tenant, "chat-messages", &chat).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "chat to {tenant}: {v}");
        let (s, v) = post(tenant, "web-bookings", &booking).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "booking to {tenant}: {v}");
    }
    assert_eq!(count_rows(&app, "chat_messages").await, 0);
    assert_eq!(count_rows(&app, "web_bookings").await, 0);
    let (s, v) = post("t-austin", "chat-messages", &chat).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post("t-austin", "web-bookings", &booking).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;
}

/// An agent who marks a booking booked learns its ids and status, never the customer's
/// name, phone, ZIP or trade.
#[tokio::test]
async fn marking_a_booking_booked_shows_agents_no_booking_contents() {
    let app = austin_and_dallas().await;
    let (s, v) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ana = app
        .user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let (s, b) = app
        .api_as(&ana, Method::POST, "/api/v1/web-bookings/wb-1/booked", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "booked_at",
            "booked_by",
            "booking_id",
            "received_at",
            "status",
            "tenant_id"
        ],
        "{b}"
    );
    assert_eq!(
        (b["booking_id"].as_str(), b["status"].as_str()),
        (Some("wb-1"), Some("booked"))
    );
    for secret in ["Jane Doe", CUSTOMER, "78701"] {
        assert!(!b.to_string().contains(secret), "{secret} in {b}");
    }
    app.stop().await;
}

/// Thread and booking ids are each tenant's own: another tenant's feed neither learns that
/// an id is used (no 409) nor takes it first; agents name a thread or booking by its id, and
/// by `?tenant_id=` only when several of their tenants use it.
#[tokio::test]
async fn thread_and_booking_ids_are_each_tenants_own() {
    let app = austin_and_dallas().await;
    // Austin's feed takes the ids first; Dallas's later posts of the same ids are its own.
    app.inbound_chat("t-austin", "th-1").await;
    let (s, v) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = message(&app, "t-dallas", "th-1", CUSTOMER, "inbound").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["thread"]["tenant_id"].as_str(),
            v["thread"]["messages"].as_u64()
        ),
        (Some("t-dallas"), Some(1))
    );
    let (s, v) = app.web_booking("t-dallas", "wb-1", "John Roe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 1));
    assert_eq!(chat_counts(&app, "t-dallas").await, (1, 1));
    assert_eq!(
        (
            unbooked(&app, "t-austin").await,
            unbooked(&app, "t-dallas").await
        ),
        (1, 1)
    );

    // An agent of Dallas only: the id names Dallas's thread and booking.
    let bob = app
        .user_token("bob", &["contact_center.view"], &["t-dallas"])
        .await;
    let (s, t) = app
        .api_as(&bob, Method::POST, "/api/v1/chat-threads/th-1/close", None)
        .await;
    assert_eq!(
        (s, t["tenant_id"].as_str()),
        (StatusCode::OK, Some("t-dallas")),
        "{t}"
    );
    let (s, b) = app
        .api_as(&bob, Method::POST, "/api/v1/web-bookings/wb-1/booked", None)
        .await;
    assert_eq!(
        (s, b["tenant_id"].as_str()),
        (StatusCode::OK, Some("t-dallas")),
        "{b}"
    );
    // Naming Austin's is as naming an unknown one.
    for path in [
        "/api/v1/chat-threads/th-1/mark-read?tenant_id=t-austin",
        "/api/v1/web-bookings/wb-1/booked?tenant_id=t-austin",
    ] {
        let (s, v) = app.api_as(&bob, Method::POST, path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    assert_eq!(chat_counts(&app, "t-austin").await, (1, 1));
    assert_eq!(unbooked(&app, "t-austin").await, 1);

    // Whoever sees both tenants names the tenant.
    let (s, v) = thread_action(&app, "th-1", "mark-read").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("ambiguous_id")),
        "{v}"
    );
    let (s, v) = app
        .api(Method::POST, "/api/v1/web-bookings/wb-1/booked", None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("ambiguous_id")),
        "{v}"
    );
    let (s, v) = thread_action(&app, "th-1", "mark-read?tenant_id=t-austin").await;
    assert_eq!(
        (s, v["tenant_id"].as_str()),
        (StatusCode::OK, Some("t-austin")),
        "{v}"
    );
    let (s, v) = app
        .api(
            Method::POST,
            "/api/v1/web-bookings/wb-1/booked?tenant_id=t-austin",
            None,
        )
        .await;
    assert_eq!(
        (s, v["tenant_id"].as_str()),
        (StatusCode::OK, Some("t-austin")),
        "{v}"
    );
    assert_eq!(chat_counts(&app, "t-austin").await, (0, 1));
    assert_eq!(unbooked(&app, "t-austin").await, 0);
    app.stop().await;
}

/// The thread and booking actions read `?tenant_id=` only: any other query parameter (a
/// cache buster, a client's tracking tag) is ignored, as before they read a query at all.
#[tokio::test]
async fn thread_and_booking_actions_ignore_other_query_parameters() {
    let app = austin_and_dallas().await;
    app.inbound_chat("t-austin", "th-1").await;
    let (s, v) = app.web_booking("t-austin", "wb-1", "Jane Doe").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for path in [
        "/api/v1/chat-threads/th-1/mark-read?_=1700000000",
        "/api/v1/chat-threads/th-1/close?tenant_id=t-austin&utm_source=x",
        "/api/v1/web-bookings/wb-1/booked?trace=abc",
    ] {
        let (s, v) = app.api(Method::POST, path, None).await;
        assert_eq!(
            (s, v["tenant_id"].as_str()),
            (StatusCode::OK, Some("t-austin")),
            "{path}: {v}"
        );
    }
    app.stop().await;
}
