//! Who may do and see what: the contract's permissions, and the audience of what happens to
//! a call. Shared by the HTTP edge (which checks a principal against them) and the layers
//! below it (user records, live events), so it sits below both.

/// Declares the permissions once: the [`Permission`] enum, [`Permission::ALL`], their names,
/// and a marker type for each in [`need`].
macro_rules! permissions {
    ($($name:ident => $text:literal),* $(,)?) => {
        /// A permission of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Permission {
            $($name),*
        }

        impl Permission {
            pub const ALL: [Permission; [$($text),*].len()] = [$(Self::$name),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => $text),*
                }
            }
        }

        /// The permissions as types, for the HTTP edge's `Authorized<need::UsersManage>`.
        pub mod need {
            use super::{Needed, Permission};

            $(
                #[doc = concat!("`", $text, "`.")]
                #[derive(Debug)]
                pub struct $name;

                impl Needed for $name {
                    const ANY_OF: &'static [Permission] = &[Permission::$name];
                }
            )*

            /// `directory.manage` or `contact_center.settings`: the tenant details list
            /// (tenants with their ZIP codes and trades), which the settings screen shows.
            #[derive(Debug)]
            pub struct TenantDetails;

            impl Needed for TenantDetails {
                const ANY_OF: &'static [Permission] =
                    &[Permission::DirectoryManage, Permission::ContactCenterSettings];
            }
        }
    };
}

permissions! {
    ContactCenterView => "contact_center.view",
    ContactCenterSettings => "contact_center.settings",
    UsersManage => "users.manage",
    DirectoryManage => "directory.manage",
    ConnectionsManage => "connections.manage",
    FeedsWrite => "feeds.write",
    PrivacyManage => "privacy.manage",
}

impl Permission {
    /// The permission named `name` exactly (as [`Permission::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The permissions a route admits (any one of them), named by a type, for `http::auth::Authorized`.
pub trait Needed: Send + Sync + 'static {
    const ANY_OF: &'static [Permission];
}

/// Which tenants someone may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    All,
    Only(std::collections::BTreeSet<String>),
}

impl TenantScope {
    pub fn contains(&self, tenant_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(tenant_id),
        }
    }
}

/// Someone seen from the use cases: an id, the tenants it sees, and whether it manages users
/// (an HTTP principal, without the rest of its permissions, which the edge checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub id: String,
    pub tenants: TenantScope,
    /// Holds `users.manage`: may change the tenant of a call another agent holds.
    pub manages_users: bool,
}

impl Viewer {
    /// The one visibility rule: see [`Audience`].
    pub fn sees(&self, audience: &Audience) -> bool {
        audience.admits(&self.id, &self.tenants)
    }

    /// A call is seen as its [`Audience::of_call`] is.
    pub fn sees_call(&self, call: &crate::store::calls::CallRow) -> bool {
        self.sees(&Audience::of_call(call))
    }
}

/// Who may see something: the one visibility rule of calls, the call list's SQL
/// (`store::calls::visible_sql`) and the live events follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Everyone with `contact_center.view`: a national or unknown call still waiting for
    /// its tenant.
    Everyone,
    /// Those who see this tenant.
    Tenant(String),
    /// Those who see at least one of these tenants: a regional call still waiting for its
    /// tenant, seen by the agents of the tenants its number serves.
    AnyTenant(Vec<String>),
    /// Only principals of every tenant: an ended call that never got one.
    AllTenants,
    /// One user (notices about that user's own rights, never sent to clients).
    User(String),
}

impl Audience {
    /// Whether `id`, seeing `tenants`, is among the audience.
    pub fn admits(&self, id: &str, tenants: &TenantScope) -> bool {
        match self {
            Self::Everyone => true,
            Self::Tenant(t) => tenants.contains(t),
            Self::AnyTenant(ts) => {
                *tenants == TenantScope::All || ts.iter().any(|t| tenants.contains(t))
            }
            Self::AllTenants => *tenants == TenantScope::All,
            Self::User(user) => user == id,
        }
    }

    /// A call's audience: its tenant once it has one; while it waits for one, everyone, or
    /// for a regional number the agents of the tenants it serves.
    pub fn of_call(call: &crate::store::calls::CallRow) -> Self {
        use crate::domain::gate::TenantStatus;
        use crate::domain::numbers::NumberKind;
        let t = call.tenant();
        match (t.status, t.tenant_id) {
            (TenantStatus::Pending, _) => match &call.resolution {
                Some(r) if r.kind == NumberKind::Regional => Self::AnyTenant(r.tenant_ids.clone()),
                _ => Self::Everyone,
            },
            (TenantStatus::Resolved | TenantStatus::Selected, Some(id)) => Self::Tenant(id),
            (TenantStatus::Resolved | TenantStatus::Selected | TenantStatus::Unresolved, _) => {
                Self::AllTenants
            }
        }
    }
}
