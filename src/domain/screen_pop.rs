//! What an agent's screen shows for a call.

use super::gate::{TenantOutcome, TenantStatus};
use serde::Serialize;

/// The screen pop of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreenPop {
    pub call_id: String,
    pub from: Option<String>,
    pub caller_name: Option<String>,
    pub tenant_id: Option<String>,
    pub needs_tenant: bool,
    pub tenant_url: Option<String>,
    pub call_bubble_selected: bool,
    pub customer_prefilled: bool,
}

/// Inputs the store looked up for the screen pop.
#[derive(Debug, Clone, Default)]
pub struct PopContext {
    /// The tenant's booking page.
    pub booking_url: Option<String>,
    /// The caller's name in the tenant's contacts.
    pub contact_name: Option<String>,
    /// The provider's caller-name data.
    pub provider_caller_name: Option<String>,
}

/// Builds the screen pop. The caller's name comes from the tenant's contacts once the
/// tenant is known, else from the provider; the call bubble is selected and the customer
/// filled in for a local call and for the first tenant entered, never for a later one.
pub fn screen_pop(
    call_id: &str,
    from: Option<&str>,
    tenant: &TenantOutcome,
    ctx: PopContext,
) -> ScreenPop {
    let has_tenant = matches!(
        tenant.status,
        TenantStatus::Resolved | TenantStatus::Selected
    );
    let prefill = has_tenant && tenant.first_choice;
    ScreenPop {
        call_id: call_id.to_owned(),
        from: from.map(str::to_owned),
        caller_name: ctx
            .contact_name
            .filter(|_| has_tenant)
            .or(ctx.provider_caller_name),
        tenant_id: tenant.tenant_id.clone().filter(|_| has_tenant),
        needs_tenant: !has_tenant,
        tenant_url: ctx.booking_url.filter(|_| has_tenant),
        call_bubble_selected: prefill,
        customer_prefilled: prefill,
    }
}
