//! Who is calling the API and what they may do.
//!
//! A bearer token resolves to a [`Principal`]: an id, a permission set and the tenants the
//! principal may see. The bootstrap token (`CALLGATE_BOOTSTRAP_TOKEN`) holds every
//! permission and sees every tenant. A user token (`cgt_...`, made by
//! `POST /api/v1/users/{user_id}/tokens`) is looked up by its SHA-256 on every request, with
//! no cache: a change to the user's permissions or tenants, or the revocation of the token,
//! applies to the very next request.
//!
//! Handlers take an [`Authorized`] with the permission their route needs, e.g.
//! `p: Authorized<need::UsersManage>`. It is extracted before the body is read, so a caller
//! without the permission gets 403 whatever it sent.

use super::AppState;
pub use crate::access::{Audience, Needed, Permission, TenantScope, Viewer, need};
use crate::error::AppError;
use crate::store::users::{self, User};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callgate_adapters::kit::verify::ct_eq;
use std::collections::BTreeSet;
use std::marker::PhantomData;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub permissions: BTreeSet<Permission>,
    pub tenants: TenantScope,
}

impl Principal {
    /// 403 unless the principal holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        self.require_any(&[p])
    }

    /// 403 unless the principal holds one of `any_of`.
    pub fn require_any(&self, any_of: &[Permission]) -> Result<(), AppError> {
        if any_of.iter().any(|p| self.permissions.contains(p)) {
            return Ok(());
        }
        let names: Vec<&str> = any_of.iter().map(|p| p.as_str()).collect();
        Err(AppError::Forbidden(format!(
            "this token lacks the permission {}",
            names.join(" or ")
        )))
    }

    pub fn sees_tenant(&self, tenant_id: &str) -> bool {
        self.tenants.contains(tenant_id)
    }

    /// The principal as the use cases see it: who, and which tenants.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            id: self.id.clone(),
            tenants: self.tenants.clone(),
            manages_users: self.permissions.contains(&Permission::UsersManage),
        }
    }

    /// 403 unless the principal holds every permission named in `permissions` and sees
    /// every tenant in `tenants`: what a manager may grant, and whom it may change. A name
    /// this build does not know grants nothing, so it asks for nothing either. The
    /// bootstrap principal holds everything.
    pub fn covers<'a>(
        &self,
        permissions: impl IntoIterator<Item = &'a String>,
        tenants: impl IntoIterator<Item = &'a String>,
        whose: &str,
    ) -> Result<(), AppError> {
        let missing: Vec<&str> = permissions
            .into_iter()
            .filter_map(|p| Permission::parse(p))
            .filter(|p| !self.permissions.contains(p))
            .map(Permission::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::Forbidden(format!(
                "{whose} permissions you do not hold yourself: {}",
                missing.join(", ")
            )));
        }
        if tenants.into_iter().any(|t| !self.sees_tenant(t)) {
            return Err(AppError::Forbidden(format!(
                "{whose} tenants that are not among the tenants assigned to you"
            )));
        }
        Ok(())
    }

    /// The tenants reads are limited to, for the store's filters: `None` sees them all.
    pub fn only_tenants(&self) -> Option<BTreeSet<String>> {
        match &self.tenants {
            TenantScope::All => None,
            TenantScope::Only(set) => Some(set.clone()),
        }
    }

    fn bootstrap() -> Self {
        Self {
            id: "bootstrap".into(),
            permissions: Permission::ALL.into_iter().collect(),
            tenants: TenantScope::All,
        }
    }

    /// A user's principal. Stored permission names this build does not know grant nothing.
    fn of_user(user: User) -> Self {
        Self {
            id: user.user_id,
            permissions: user
                .permissions
                .iter()
                .filter_map(|p| Permission::parse(p))
                .collect(),
            tenants: TenantScope::Only(user.tenant_ids.into_iter().collect()),
        }
    }
}

/// True when `hash` is the SHA-256 of the bootstrap token.
fn is_bootstrap(state: &AppState, hash: &[u8; 32]) -> bool {
    state
        .config
        .bootstrap_token
        .as_ref()
        .is_some_and(|bootstrap| {
            // Digests of equal length: the comparison time does not depend on the token's length
            // either.
            ct_eq(&crate::users::token_hash(bootstrap.expose()), hash)
        })
}

/// The principal a bearer token stands for; `None` when the token is not valid. A store
/// failure is an error (503), not a refusal.
pub(crate) async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<Option<Principal>, AppError> {
    let hash = crate::users::token_hash(token);
    if !is_bootstrap(state, &hash) && !crate::users::looks_like_token(token) {
        return Ok(None);
    }
    authenticate_hash(state, hash).await
}

/// The principal the token whose SHA-256 is `hash` stands for now: what a live stream checks
/// again when its user's rights change. `None` for a revoked or unknown token.
pub async fn authenticate_hash(
    state: &AppState,
    hash: [u8; 32],
) -> Result<Option<Principal>, AppError> {
    if is_bootstrap(state, &hash) {
        return Ok(Some(Principal::bootstrap()));
    }
    // The lookup is by the hash of a 256-bit random value: its timing tells nothing about
    // other tokens.
    let user = state
        .store
        .read(move |db| users::by_token_hash(db, &hash))
        .await?;
    Ok(user.map(Principal::of_user))
}

/// The bearer token of a request; 401 without one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, AppError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(AppError::Unauthorized)?;
    let value = header.to_str().map_err(|_| AppError::Unauthorized)?;
    // The scheme name is case-insensitive (RFC 9110, section 11.1): `BEARER` is `Bearer`.
    let (scheme, token) = value
        .trim_start()
        .split_once(' ')
        .ok_or(AppError::Unauthorized)?;
    Some(token.trim())
        .filter(|t| scheme.eq_ignore_ascii_case("bearer") && !t.is_empty())
        .ok_or(AppError::Unauthorized)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        authenticate(state, token)
            .await?
            .ok_or(AppError::Unauthorized)
    }
}

/// A principal holding the permission `N` (or one of them): 401 without a valid token, 403
/// without the permission. Dereferences to the [`Principal`].
#[derive(Debug)]
pub struct Authorized<N> {
    principal: Principal,
    need: PhantomData<fn() -> N>,
}

impl<N> std::ops::Deref for Authorized<N> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<N: Needed> FromRequestParts<AppState> for Authorized<N> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require_any(N::ANY_OF)?;
        Ok(Self {
            principal,
            need: PhantomData,
        })
    }
}

impl Principal {
    pub fn sees(&self, audience: &Audience) -> bool {
        audience.admits(&self.id, &self.tenants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_round_trip_exactly() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        for bad in ["", "users", "Users.Manage", "users.manage ", "*"] {
            assert_eq!(Permission::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_route_admitting_several_permissions_takes_any_one_of_them() {
        let holding = |p: &[Permission]| Principal {
            id: "u".into(),
            permissions: p.iter().copied().collect(),
            tenants: TenantScope::All,
        };
        let any_of = need::TenantDetails::ANY_OF;
        for one in [
            Permission::DirectoryManage,
            Permission::ContactCenterSettings,
        ] {
            assert!(holding(&[one]).require_any(any_of).is_ok(), "{one:?}");
        }
        let refused = holding(&[Permission::ContactCenterView]).require_any(any_of);
        match refused {
            Err(AppError::Forbidden(message)) => assert!(
                message.contains("directory.manage or contact_center.settings"),
                "{message}"
            ),
            other => panic!("expected 403, got {other:?}"),
        }
        assert!(holding(&[]).require(Permission::UsersManage).is_err());
    }

    #[test]
    fn a_user_sees_only_its_tenants_and_holds_only_known_permissions() {
        let user = User {
            user_id: "ana".into(),
            name: "Ana".into(),
            permissions: vec!["contact_center.view".into(), "from.a.newer.build".into()],
            tenant_ids: vec!["t-a".into()],
            identities: Vec::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let p = Principal::of_user(user);
        assert_eq!(p.id, "ana");
        assert_eq!(
            p.permissions,
            BTreeSet::from([Permission::ContactCenterView])
        );
        assert!(p.sees_tenant("t-a") && !p.sees_tenant("t-b"));
        assert_eq!(p.only_tenants(), Some(BTreeSet::from(["t-a".to_owned()])));
        assert!(p.require(Permission::UsersManage).is_err());
        let b = Principal::bootstrap();
        assert!(b.sees_tenant("anything") && b.only_tenants().is_none());
        assert!(Permission::ALL.into_iter().all(|p| b.require(p).is_ok()));
    }
}
