//! The agent's page (`contact_center.view`): the active call's screen pop, the pending
//! national and regional calls with Find Tenant, and the hub's per-tenant counts. The page's
//! script re-reads it when the live stream reports a change, so it stays current without a
//! reload. Actions (claim, enter tenant) post forms with the session's CSRF token and call
//! the same use cases as the API.

use super::format::{fallback_time, human_number, machine_time};
use super::{Chrome, PageError, form_action, html, sentence, signed_in};
use crate::domain::gate::TenantStatus;
use crate::domain::screen_pop::ScreenPop;
use crate::dto::CallDto;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::api::directory::{SearchQuery, search_tenants};
use crate::http::api::hub::hub_of;
use crate::http::auth::{Permission, Principal};
use crate::ids::check_id;
use crate::store::calls::{self, CallFilter, CallRow};
use crate::store::directory::{self, SearchMode, Tenant};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// How many pending calls the page lists (newest first).
const PENDING_SHOWN: usize = 100;

/// A phone number as shown: for people, with its E.164 form on hover.
#[derive(Debug, Clone)]
pub struct Number {
    pub human: String,
    pub raw: String,
}

impl Number {
    fn of(raw: Option<&str>) -> Option<Self> {
        raw.map(|r| Self {
            human: human_number(r),
            raw: r.to_owned(),
        })
    }
}

/// An instant as shown: localized by the script, UTC until then.
#[derive(Debug, Clone)]
pub struct When {
    pub machine: String,
    pub fallback: String,
}

impl When {
    fn of(t: Option<OffsetDateTime>) -> Option<Self> {
        t.map(|t| Self {
            machine: machine_time(t),
            fallback: fallback_time(t),
        })
    }
}

/// The active call's screen pop.
#[derive(Debug)]
struct PopView {
    call_id: String,
    from: Option<Number>,
    caller_name: Option<String>,
    tenant_name: Option<String>,
    needs_tenant: bool,
    call_bubble_selected: bool,
    customer_prefilled: bool,
    /// The agent's own phone answered the call (a leg of it answered by one of their
    /// identities): the pop offers Open Tenant, and the page's script opens the tenant in a
    /// new tab on its own when the call appears.
    answered_by_phone: bool,
}

/// A pending national or regional call.
#[derive(Debug)]
struct PendingView {
    call_id: String,
    from: Option<Number>,
    caller_name: Option<String>,
    dialed: Option<Number>,
    kind: &'static str,
    started: Option<When>,
    agent_id: Option<String>,
    mine: bool,
}

/// One tenant's counts in the hub.
#[derive(Debug)]
struct HubRow {
    name: String,
    url: Option<String>,
    first: u32,
    second: u32,
}

/// A tenant found by the search.
#[derive(Debug)]
struct Found {
    tenant_id: String,
    name: String,
    zip_codes: String,
    trades: String,
}

/// The Find Tenant panel of one call.
#[derive(Debug)]
struct FindView {
    call_id: String,
    from: Option<Number>,
    /// The call has a tenant already: "Find Different Tenant".
    different: bool,
    /// Opened through Find Tenant or Find Different Tenant rather than from the call's own
    /// prompt: a tenant entered here opens without the prefill.
    found: bool,
    /// The search mode asks for a trade (`zip_and_trade`), or refuses searches (`none`).
    needs_trade: bool,
    disabled: bool,
    zip: String,
    trade: String,
    trades: Vec<String>,
    searched: bool,
    results: Vec<Found>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    chrome: Chrome,
    /// The session's CSRF token, for the page's forms.
    csrf: String,
    pop: Option<PopView>,
    /// The agent's most recent call that ended, for wrap-up.
    last: Option<PopView>,
    pending: Vec<PendingView>,
    find: Option<FindView>,
    chats: Vec<HubRow>,
    bookings: Vec<HubRow>,
    has_tenants: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct AgentQuery {
    call: Option<String>,
    /// `1`: the panel was opened through Find Tenant or Find Different Tenant.
    find: Option<String>,
    zip: Option<String>,
    trade: Option<String>,
}

/// `GET /console/agent`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AgentQuery>,
) -> Result<Response, PageError> {
    let user = signed_in(&st, &headers).await?;
    let p = &user.principal;
    p.require(Permission::ContactCenterView)?;
    let hub = hub_of(&st, p).await?;
    let (tenants, pending, mode) = read_page_data(&st, p).await?;
    let names: HashMap<&str, &str> = tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), t.name.as_str()))
        .collect();
    let find = match q.call.as_deref().filter(|c| !c.is_empty()) {
        Some(call_id) => Some(find_view(&st, p, call_id, &q, mode, &tenants).await?),
        None => None,
    };
    let answered_by_phone = match &hub.active_call {
        Some(pop) if !pop.needs_tenant => answered_by_phone(&st, &p.id, &pop.call_id).await?,
        _ => false,
    };
    let page = AgentPage {
        chrome: Chrome::of(&user, "/console/agent"),
        csrf: user.csrf.clone(),
        pop: hub.active_call.map(|pop| PopView {
            answered_by_phone,
            ..pop_view(pop, &names)
        }),
        last: hub.last_call.map(|pop| pop_view(pop, &names)),
        pending: pending.iter().map(|c| pending_view(c, &p.id)).collect(),
        find,
        has_tenants: !hub.chats.is_empty(),
        chats: hub
            .chats
            .into_iter()
            .map(|c| HubRow {
                name: c.name,
                url: c.url,
                first: c.unread_threads,
                second: c.unanswered_messages,
            })
            .collect(),
        bookings: hub
            .web_bookings
            .into_iter()
            .map(|b| HubRow {
                name: b.name,
                url: b.url,
                first: b.unbooked,
                second: 0,
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// The directory, the pending calls the principal sees, and the search mode.
async fn read_page_data(
    st: &AppState,
    p: &Principal,
) -> Result<(Vec<Tenant>, Vec<CallRow>, SearchMode), AppError> {
    let filter = CallFilter {
        tenant_status: Some("pending"),
        only_tenants: p.only_tenants(),
        limit: PENDING_SHOWN,
        ..CallFilter::default()
    };
    st.store
        .read(move |db| {
            Ok::<_, AppError>((
                directory::list_tenants(db)?,
                calls::list(db, &filter)?,
                directory::settings(db)?.national_search_mode,
            ))
        })
        .await
}

fn pop_view(pop: ScreenPop, names: &HashMap<&str, &str>) -> PopView {
    PopView {
        tenant_name: pop
            .tenant_id
            .as_deref()
            .map(|t| names.get(t).copied().unwrap_or(t).to_owned()),
        from: Number::of(pop.from.as_deref()),
        caller_name: pop.caller_name,
        call_id: pop.call_id,
        needs_tenant: pop.needs_tenant,
        call_bubble_selected: pop.call_bubble_selected,
        customer_prefilled: pop.customer_prefilled,
        answered_by_phone: false,
    }
}

/// Whether a leg of the call `call_id` was answered by a phone of the user `agent` (see
/// `calls::legs::claim_answered`).
async fn answered_by_phone(st: &AppState, agent: &str, call_id: &str) -> Result<bool, AppError> {
    let id = call_id.to_owned();
    let call = st.store.read(move |db| calls::get(db, &id)).await?;
    Ok(call.is_some_and(|c| {
        c.fold
            .legs
            .values()
            .any(|leg| leg.agent_id.as_deref() == Some(agent))
    }))
}

fn pending_view(call: &CallRow, me: &str) -> PendingView {
    let dto = CallDto::from(call);
    PendingView {
        from: Number::of(dto.from.as_deref()),
        caller_name: dto.caller_name,
        dialed: Number::of(dto.to.as_deref()),
        kind: dto.number_kind,
        started: When::of(dto.started_at.or(Some(dto.created_at))),
        mine: dto.agent_id.as_deref() == Some(me),
        agent_id: dto.agent_id,
        call_id: dto.id,
    }
}

/// The Find Tenant panel for `call_id`, with the search's results when the form was sent.
async fn find_view(
    st: &AppState,
    p: &Principal,
    call_id: &str,
    q: &AgentQuery,
    mode: SearchMode,
    tenants: &[Tenant],
) -> Result<FindView, AppError> {
    check_id("call", call_id)?;
    let call = st.calls().visible(&p.viewer(), call_id.to_owned()).await?;
    let mut trades: Vec<String> = tenants.iter().flat_map(|t| t.trades.clone()).collect();
    trades.sort();
    trades.dedup();
    let zip = q.zip.clone().unwrap_or_default();
    let trade = q.trade.clone().unwrap_or_default();
    let mut view = FindView {
        call_id: call.id.clone(),
        from: Number::of(call.fold.from.as_ref().map(|e| e.value.as_str())),
        different: matches!(
            call.tenant().status,
            TenantStatus::Selected | TenantStatus::Resolved
        ),
        found: find_flag(q.find.as_deref())?,
        needs_trade: mode == SearchMode::ZipAndTrade,
        disabled: mode == SearchMode::None,
        searched: q.zip.is_some(),
        zip,
        trade,
        trades,
        results: Vec::new(),
        error: None,
    };
    if view.searched && !view.disabled {
        let query = SearchQuery {
            zip: q.zip.clone(),
            trade: q.trade.clone(),
            call_id: Some(call.id.clone()),
        };
        match search_tenants(st, p, query).await {
            Ok((found, _)) => view.results = found.into_iter().map(found_view).collect(),
            Err(e) if e.status().is_client_error() => view.error = Some(sentence(&e)),
            Err(e) => return Err(e),
        }
    }
    Ok(view)
}

fn found_view(t: Tenant) -> Found {
    Found {
        zip_codes: t.zip_codes.join(", "),
        trades: t.trades.join(", "),
        tenant_id: t.tenant_id,
        name: t.name,
    }
}

/// `POST /console/calls/{id}/claim` (form: `csrf`): the call becomes the agent's active call;
/// back to the agent's page, with Find Tenant open when the call needs one.
pub async fn claim(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(call_id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::ContactCenterView).await?;
    check_id("call id", &call_id)?;
    let handled = st
        .calls()
        .claim(user.principal.viewer(), call_id)
        .await
        .map_err(AppError::from)?;
    let pop = handled.screen_pop;
    let to = if pop.needs_tenant {
        format!("/console/agent?call={}#find", pop.call_id)
    } else {
        "/console/agent".to_owned()
    };
    Ok(Redirect::to(&to).into_response())
}

/// Whether the agent came through Find Tenant or Find Different Tenant: `1` (or `true`) says
/// so; absent, empty, `0` or `false` says not; anything else is refused.
fn find_flag(value: Option<&str>) -> Result<bool, AppError> {
    match value.unwrap_or("") {
        "1" | "true" => Ok(true),
        "" | "0" | "false" => Ok(false),
        _ => Err(AppError::bad_request(
            "invalid_find",
            "find must be 1 (through Find Tenant or Find Different Tenant) or 0",
        )),
    }
}

/// `POST /console/calls/{id}/tenant` (form: `csrf`, `tenant_id`, and `find` when the agent
/// came through Find Tenant or Find Different Tenant), sent to a new tab: enters the tenant,
/// then that tab opens the tenant's page.
pub async fn enter_tenant(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(call_id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, form) = form_action(&st, &headers, body, Permission::ContactCenterView).await?;
    let tenant_id = form.get("tenant_id").cloned().unwrap_or_default();
    let find = find_flag(form.get("find").map(String::as_str))?;
    check_id("call id", &call_id)?;
    check_id("tenant_id", &tenant_id)?;
    let handled = st
        .calls()
        .enter_tenant(user.principal.viewer(), call_id, tenant_id, find)
        .await
        .map_err(AppError::from)?;
    let to = format!("/console/calls/{}/tenant-page", handled.call.id);
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "tenant_page.html")]
struct TenantPage {
    chrome: Chrome,
    tenant_name: String,
    url: Option<String>,
    call_bubble_selected: bool,
    customer_prefilled: bool,
}

/// `GET /console/calls/{id}/tenant-page` ("Go to Tenant"): forwards to the call's tenant's
/// page, saying what it opens with; 409 as a sentence while the call has no tenant.
pub async fn tenant_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(call_id): Path<String>,
) -> Result<Response, PageError> {
    let user = signed_in(&st, &headers).await?;
    user.principal.require(Permission::ContactCenterView)?;
    check_id("call id", &call_id)?;
    let pop = st
        .calls()
        .go_to_tenant(&user.principal.viewer(), call_id)
        .await
        .map_err(AppError::from)?;
    let tenant_id = pop.tenant_id.clone().unwrap_or_default();
    let t = tenant_id.clone();
    let tenant = st
        .store
        .read(move |db| directory::get_tenant(db, &t))
        .await
        .map_err(AppError::from)?;
    let page = TenantPage {
        chrome: Chrome::of(&user, ""),
        tenant_name: tenant.map_or(tenant_id, |t| t.name),
        // Only http(s) pages are opened (the directory accepts no other).
        url: pop
            .tenant_url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        call_bubble_selected: pop.call_bubble_selected,
        customer_prefilled: pop.customer_prefilled,
    };
    Ok(html(StatusCode::OK, &page))
}
