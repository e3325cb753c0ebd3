//! Who is calling the API and what they may do.
//!
//! A bearer token resolves to a [`Principal`]: an id, a permission set and the tenants the
//! principal may see. Today the bootstrap token is the one source of principals; user
//! tokens slot in by adding a lookup in [`authenticate`].

use super::AppState;
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callgate_adapters::kit::verify::ct_eq;
use std::collections::BTreeSet;

/// A permission of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    ContactCenterView,
    ContactCenterSettings,
    UsersManage,
    DirectoryManage,
    ConnectionsManage,
    FeedsWrite,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Self::ContactCenterView,
        Self::ContactCenterSettings,
        Self::UsersManage,
        Self::DirectoryManage,
        Self::ConnectionsManage,
        Self::FeedsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactCenterView => "contact_center.view",
            Self::ContactCenterSettings => "contact_center.settings",
            Self::UsersManage => "users.manage",
            Self::DirectoryManage => "directory.manage",
            Self::ConnectionsManage => "connections.manage",
            Self::FeedsWrite => "feeds.write",
        }
    }
}

/// Which tenants a principal may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    All,
    Only(BTreeSet<String>),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    pub permissions: BTreeSet<Permission>,
    pub tenants: TenantScope,
}

impl Principal {
    /// 403 unless the principal holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.permissions.contains(&p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this token lacks the permission {}",
                p.as_str()
            )))
        }
    }

    pub fn sees_tenant(&self, tenant_id: &str) -> bool {
        match &self.tenants {
            TenantScope::All => true,
            TenantScope::Only(set) => set.contains(tenant_id),
        }
    }
}

fn authenticate(state: &AppState, token: &str) -> Option<Principal> {
    let bootstrap = state.config.bootstrap_token.as_ref()?;
    ct_eq(bootstrap.expose().as_bytes(), token.as_bytes()).then(|| Principal {
        id: "bootstrap".into(),
        permissions: Permission::ALL.into_iter().collect(),
        tenants: TenantScope::All,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(AppError::Unauthorized)?;
        let value = header.to_str().map_err(|_| AppError::Unauthorized)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        authenticate(state, token).ok_or(AppError::Unauthorized)
    }
}
