//! The hub (`contact_center.view`): the caller's active call as a screen pop, its most
//! recent call that ended (for wrap-up), and per
//! visible tenant the chat and web booking counts, each with a link to the tenant's page.
//! No chat or booking contents are shown here.

use crate::domain::screen_pop::ScreenPop;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Authorized, Principal, need};
use crate::store::directory::{self, Tenant};
use crate::store::{bookings, chats};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hub", get(hub))
}

/// One tenant's chat counts. Only open threads count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatCounts {
    pub tenant_id: String,
    pub name: String,
    pub unread_threads: u32,
    pub unanswered_messages: u32,
    /// The tenant's page (its booking URL).
    pub url: Option<String>,
}

/// One tenant's unbooked web bookings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingCounts {
    pub tenant_id: String,
    pub name: String,
    pub unbooked: u32,
    pub url: Option<String>,
}

/// The hub's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Hub {
    pub active_call: Option<ScreenPop>,
    /// The caller's most recent call that has ended: Go to Tenant stays open for wrap-up.
    pub last_call: Option<ScreenPop>,
    pub chats: Vec<ChatCounts>,
    pub web_bookings: Vec<BookingCounts>,
}

/// The count lists: every tenant the caller sees (removed tenants are not in `tenants`),
/// zero counts included. Chats: most unanswered messages first, then by name; web bookings:
/// most unbooked first, then by name (ties of name by id).
fn count_lists(
    p: &Principal,
    tenants: Vec<Tenant>,
    chat_counts: &HashMap<String, (u32, u32)>,
    unbooked: &HashMap<String, u32>,
) -> (Vec<ChatCounts>, Vec<BookingCounts>) {
    let visible: Vec<Tenant> = tenants
        .into_iter()
        .filter(|t| p.sees_tenant(&t.tenant_id))
        .collect();
    let mut chats: Vec<ChatCounts> = visible
        .iter()
        .map(|t| {
            let (unread_threads, unanswered_messages) =
                chat_counts.get(&t.tenant_id).copied().unwrap_or_default();
            ChatCounts {
                tenant_id: t.tenant_id.clone(),
                name: t.name.clone(),
                unread_threads,
                unanswered_messages,
                url: t.booking_url.clone(),
            }
        })
        .collect();
    chats.sort_by(|a, b| {
        b.unanswered_messages
            .cmp(&a.unanswered_messages)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.tenant_id.cmp(&b.tenant_id))
    });
    let mut bookings: Vec<BookingCounts> = visible
        .into_iter()
        .map(|t| BookingCounts {
            unbooked: unbooked.get(&t.tenant_id).copied().unwrap_or_default(),
            tenant_id: t.tenant_id,
            name: t.name,
            url: t.booking_url,
        })
        .collect();
    bookings.sort_by(|a, b| {
        b.unbooked
            .cmp(&a.unbooked)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.tenant_id.cmp(&b.tenant_id))
    });
    (chats, bookings)
}

async fn hub(
    State(st): State<AppState>,
    p: Authorized<need::ContactCenterView>,
) -> Result<Json<Hub>, AppError> {
    Ok(Json(hub_of(&st, &p).await?))
}

/// The principal's hub: what `GET /api/v1/hub` answers and the console's agent page shows.
pub(crate) async fn hub_of(st: &AppState, p: &Principal) -> Result<Hub, AppError> {
    let p = p.clone();
    st.store
        .read(move |db| {
            let viewer = p.viewer();
            let active_call = crate::calls::active_call(db, &viewer)?;
            let last_call = crate::calls::last_call(db, &viewer)?;
            let (chats, web_bookings) = count_lists(
                &p,
                directory::list_tenants(db)?,
                &chats::counts_by_tenant(db)?,
                &bookings::unbooked_by_tenant(db)?,
            );
            Ok::<_, AppError>(Hub {
                active_call,
                last_call,
                chats,
                web_bookings,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::{Permission, TenantScope};

    fn tenant(id: &str, name: &str) -> Tenant {
        Tenant {
            tenant_id: id.into(),
            name: name.into(),
            zip_codes: vec![],
            trades: vec![],
            booking_url: Some(format!("https://{id}.example.com/b")),
        }
    }

    fn agent(scope: TenantScope) -> Principal {
        Principal {
            id: "agent-1".into(),
            permissions: [Permission::ContactCenterView].into_iter().collect(),
            tenants: scope,
        }
    }

    #[test]
    fn counts_are_listed_for_visible_tenants_only_most_unanswered_first() {
        let tenants = vec![
            tenant("t-a", "Zeta Plumbing"),
            tenant("t-b", "Alpha HVAC"),
            tenant("t-c", "Beta Electric"),
            tenant("t-d", "Hidden Roofing"),
        ];
        let chats = HashMap::from([
            ("t-a".to_owned(), (1, 2)),
            ("t-b".to_owned(), (2, 2)),
            ("t-c".to_owned(), (1, 7)),
            ("t-d".to_owned(), (9, 9)),
        ]);
        let unbooked = HashMap::from([("t-a".to_owned(), 3), ("t-d".to_owned(), 5)]);
        let scope = TenantScope::Only(
            ["t-a", "t-b", "t-c"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        let (c, b) = count_lists(&agent(scope), tenants.clone(), &chats, &unbooked);
        let order: Vec<_> = c.iter().map(|c| c.tenant_id.as_str()).collect();
        assert_eq!(order, ["t-c", "t-b", "t-a"], "7, then the tie 2/2 by name");
        assert_eq!(c[1].unread_threads, 2);
        assert_eq!(c[0].url.as_deref(), Some("https://t-c.example.com/b"));
        let order: Vec<_> = b
            .iter()
            .map(|b| (b.tenant_id.as_str(), b.unbooked))
            .collect();
        assert_eq!(
            order,
            [("t-a", 3), ("t-b", 0), ("t-c", 0)],
            "zeros listed, by name"
        );

        let (c, _) = count_lists(&agent(TenantScope::All), tenants, &chats, &unbooked);
        assert_eq!(c[0].tenant_id, "t-d");
        assert_eq!(c.len(), 4);
    }
}
