//! Users and their tokens: validation of what managers send, token values and their hashes,
//! and what the audit trail records about a change. Pure, except that [`new_token`] reads
//! the operating system's random source.

use crate::access::Permission;
use crate::domain::identity;
use crate::error::AppError;
use crate::ids::{check_id, check_user_ref};
use crate::store::users::User;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callgate_adapters::kit::Secret;
use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Ids that name other actors of the audit trail (and the bootstrap principal): no user may
/// take them.
pub const RESERVED_IDS: [&str; 3] = ["bootstrap", "ops", "system"];

/// At most this many tenants per user.
pub const MAX_TENANTS: usize = 10_000;

/// At most this many unrevoked tokens per user.
pub const MAX_ACTIVE_TOKENS: i64 = 100;

/// Every user token starts with this, so that a leaked one is easy to recognize (and to
/// scan for).
pub const TOKEN_PREFIX: &str = "cgt_";

/// Random bytes in a token, read from the operating system.
const TOKEN_BYTES: usize = 32;

/// A user as written by managers (`PUT /api/v1/users/{user_id}` body). The fields are
/// options so that a missing one is reported by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub tenant_ids: Option<Vec<String>>,
    /// The agent's identities at the telephony providers; left out: none.
    pub identities: Option<Vec<String>>,
}

/// A validated user, before it is given its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user_id: String,
    pub name: String,
    pub permissions: BTreeSet<String>,
    pub tenant_ids: BTreeSet<String>,
    /// Canonical forms ([`identity::canonical`]).
    pub identities: Vec<String>,
}

fn missing(field: &str) -> AppError {
    AppError::bad_request("missing_field", format!("{field} is required"))
}

/// Checks a user id (as [`check_user_ref`] does, and not one of [`RESERVED_IDS`]).
pub fn check_user_id(user_id: &str) -> Result<(), AppError> {
    check_user_ref(user_id)?;
    // Case-insensitively: `Bootstrap` or `SYSTEM` would read as those actors in the audit.
    if RESERVED_IDS.iter().any(|r| r.eq_ignore_ascii_case(user_id)) {
        return Err(AppError::bad_request(
            "reserved_user_id",
            format!("{user_id:?} is reserved; choose another user id"),
        ));
    }
    Ok(())
}

/// Validates a user. Every problem is a 400: `invalid_id`, `reserved_user_id`,
/// `missing_field`, `invalid_name`, `unknown_permission`, `invalid_tenant_id`,
/// `too_many_tenants`; a refused identity is a 422 ([`identities`]). Duplicates are dropped.
pub fn validate(user_id: &str, input: UserInput) -> Result<UserSpec, AppError> {
    check_user_id(user_id)?;
    let name = input.name.ok_or_else(|| missing("name"))?;
    let permissions = input.permissions.ok_or_else(|| missing("permissions"))?;
    // No tenants named: the user sees none (pending calls only).
    let tenant_ids = input.tenant_ids.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad_request(
            "invalid_name",
            "name must be 1-200 characters",
        ));
    }
    let mut known = BTreeSet::new();
    for p in permissions {
        let Some(permission) = Permission::parse(&p) else {
            let names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
            return Err(AppError::bad_request(
                "unknown_permission",
                format!("{p:?} is not a permission; the permissions are {names:?}"),
            ));
        };
        known.insert(permission.as_str().to_owned());
    }
    if tenant_ids.len() > MAX_TENANTS {
        return Err(AppError::bad_request(
            "too_many_tenants",
            format!("a user may see at most {MAX_TENANTS} tenants"),
        ));
    }
    let mut tenants = BTreeSet::new();
    for t in tenant_ids {
        if check_id("tenant id", &t).is_err() {
            return Err(AppError::bad_request(
                "invalid_tenant_id",
                format!("{t:?} is not a tenant id: ids are 1-64 letters, digits, '.', '_' or '-'"),
            ));
        }
        tenants.insert(t);
    }
    Ok(UserSpec {
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        permissions: known,
        tenant_ids: tenants,
        identities: identities(input.identities.unwrap_or_default())?,
    })
}

/// The canonical forms of a user's identities, in the order given, without duplicates (two
/// forms of one number are one identity: the first is kept). Each problem is a 422: `empty_identity`, `identity_too_long`,
/// `invalid_identity` (control characters, a SIP URI without a host), `too_many_identities`.
pub fn identities(raw: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut canonical: Vec<String> = Vec::new();
    for (i, value) in raw.iter().enumerate() {
        let id = identity::parse(value)
            .map_err(|e| AppError::unprocessable(e.code(), format!("identities[{i}]: {e}")))?;
        if !canonical.contains(&id) {
            canonical.push(id);
        }
        if canonical.len() > identity::MAX_IDENTITIES {
            return Err(AppError::unprocessable(
                "too_many_identities",
                format!(
                    "a user may have at most {} identities",
                    identity::MAX_IDENTITIES
                ),
            ));
        }
    }
    Ok(canonical)
}

/// The user `spec` describes, replacing `before` (whose creation time it keeps).
pub fn apply(spec: UserSpec, before: Option<&User>, now: OffsetDateTime) -> User {
    User {
        user_id: spec.user_id,
        name: spec.name,
        permissions: spec.permissions.into_iter().collect(),
        tenant_ids: spec.tenant_ids.into_iter().collect(),
        identities: spec.identities.into_iter().collect(),
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
    }
}

/// What was added to and removed from a list.
fn diff(before: &[String], after: &[String]) -> Value {
    let added: Vec<&String> = after.iter().filter(|a| !before.contains(a)).collect();
    let removed: Vec<&String> = before.iter().filter(|b| !after.contains(b)).collect();
    json!({ "added": added, "removed": removed })
}

/// The audit action and detail of replacing `before` with `after`: `user.created` or
/// `user.updated` with what changed in the permissions, the tenants, the identities and the
/// name. `None` when nothing changed.
pub fn change(before: Option<&User>, after: &User) -> Option<(&'static str, Value)> {
    let empty = Vec::new();
    let (action, old_name, old_permissions, old_tenants, old_identities) = match before {
        None => ("user.created", None, &empty, &empty, &empty),
        Some(b) => (
            "user.updated",
            Some(b.name.as_str()),
            &b.permissions,
            &b.tenant_ids,
            &b.identities,
        ),
    };
    if old_name == Some(after.name.as_str())
        && *old_permissions == after.permissions
        && *old_tenants == after.tenant_ids
        && *old_identities == after.identities
    {
        return None;
    }
    let mut detail = json!({
        "user_id": after.user_id,
        "permissions": diff(old_permissions, &after.permissions),
        "tenant_ids": diff(old_tenants, &after.tenant_ids),
    });
    if *old_identities != after.identities {
        detail["identities"] = diff(old_identities, &after.identities);
    }
    if old_name != Some(after.name.as_str()) {
        detail["name"] = json!({ "before": old_name, "after": after.name });
    }
    Some((action, detail))
}

/// A freshly made token: its value (shown once), the hash it is stored as, and its id.
#[derive(Debug)]
pub struct NewToken {
    pub value: Secret,
    pub hash: [u8; 32],
    pub token_id: String,
}

/// A new token: [`TOKEN_PREFIX`] and 32 bytes from the operating system's random source,
/// base64url-encoded.
pub fn new_token() -> Result<NewToken, AppError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; TOKEN_BYTES]);
    OsRng
        .try_fill_bytes(bytes.as_mut_slice())
        .map_err(|e| AppError::Internal(format!("the OS random source failed: {e}")))?;
    let value = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes.as_slice()));
    Ok(NewToken {
        hash: token_hash(&value),
        value: Secret::new(value),
        token_id: format!("tok_{}", uuid::Uuid::now_v7().simple()),
    })
}

/// The SHA-256 of a token's value: what the store keeps and looks tokens up by. A plain
/// hash suffices: the value has 256 random bits, so it cannot be guessed from its hash.
pub fn token_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Whether `value` has the shape of a user token (before any lookup).
pub fn looks_like_token(value: &str) -> bool {
    value.len() <= 128 && value.starts_with(TOKEN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: Option<&str>, permissions: &[&str], tenants: &[&str]) -> UserInput {
        UserInput {
            name: name.map(str::to_owned),
            permissions: Some(permissions.iter().map(|p| (*p).to_owned()).collect()),
            tenant_ids: Some(tenants.iter().map(|t| (*t).to_owned()).collect()),
            identities: None,
        }
    }

    fn code(r: Result<UserSpec, AppError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn validation_names_each_problem() {
        let ok = validate(
            "ana",
            input(
                Some(" Ana "),
                &["users.manage", "contact_center.view", "users.manage"],
                &["t-b", "t-a", "t-b"],
            ),
        )
        .unwrap();
        assert_eq!(ok.name, "Ana");
        assert_eq!(
            ok.permissions.iter().collect::<Vec<_>>(),
            ["contact_center.view", "users.manage"]
        );
        assert_eq!(ok.tenant_ids.iter().collect::<Vec<_>>(), ["t-a", "t-b"]);

        let cases = [
            ("a b", input(Some("A"), &[], &[]), "invalid_id"),
            ("bootstrap", input(Some("A"), &[], &[]), "reserved_user_id"),
            ("system", input(Some("A"), &[], &[]), "reserved_user_id"),
            ("ana", input(None, &[], &[]), "missing_field"),
            ("ana", input(Some("  "), &[], &[]), "invalid_name"),
            (
                "ana",
                input(Some("A"), &["contact_center.admin"], &[]),
                "unknown_permission",
            ),
            (
                "ana",
                input(Some("A"), &["Users.Manage"], &[]),
                "unknown_permission",
            ),
            ("ana", input(Some("A"), &[], &["t a"]), "invalid_tenant_id"),
            ("ana", input(Some("A"), &[], &[""]), "invalid_tenant_id"),
        ];
        for (id, i, want) in cases {
            assert_eq!(code(validate(id, i)), want, "{id}");
        }
        let no_tenants = UserInput {
            tenant_ids: None,
            ..input(Some("A"), &[], &[])
        };
        let seen = validate("ana", no_tenants).expect("tenant_ids may be left out");
        assert!(seen.tenant_ids.is_empty());
        let no_permissions = UserInput {
            permissions: None,
            ..input(Some("A"), &[], &[])
        };
        assert_eq!(code(validate("ana", no_permissions)), "missing_field");
    }

    #[test]
    fn identities_are_canonical_deduplicated_and_bounded() {
        let raw = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ok = identities(raw(&[
            "client:ana",
            " 15125550123",
            "+15125550123",
            "SIP:ana@PBX.example.com;transport=tls",
            "sip:ana@pbx.example.com",
        ]))
        .unwrap();
        assert_eq!(
            ok,
            ["client:ana", "+15125550123", "sip:ana@pbx.example.com"],
            "in the order given, the first form of each kept"
        );
        let code = |v: Vec<String>| identities(v).map_or_else(|e| e.code(), |_| "ok");
        let status = |v: Vec<String>| identities(v).unwrap_err().status();
        assert_eq!(code(raw(&["client:ana", " "])), "empty_identity");
        assert_eq!(code(vec!["x".repeat(257)]), "identity_too_long");
        assert_eq!(code(raw(&["client:\u{7}ana"])), "invalid_identity");
        assert_eq!(code(raw(&["sip:ana@"])), "invalid_identity");
        assert_eq!(
            status(raw(&[""])),
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        let many = |n: usize| (0..n).map(|i| format!("client:a{i}")).collect::<Vec<_>>();
        assert_eq!(code(many(32)), "ok");
        assert_eq!(code(many(33)), "too_many_identities");
        // Duplicates do not count against the bound.
        let mut repeated = many(32);
        repeated.extend(many(32));
        assert_eq!(code(repeated), "ok");
        assert!(identities(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn a_change_records_what_was_added_and_removed() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let t1 = t0 + time::Duration::hours(1);
        let spec = validate(
            "ana",
            input(Some("Ana"), &["contact_center.view"], &["t-a", "t-b"]),
        )
        .unwrap();
        let created = apply(spec, None, t0);
        let (action, detail) = change(None, &created).unwrap();
        assert_eq!(action, "user.created");
        assert_eq!(
            detail,
            json!({
                "user_id": "ana",
                "permissions": {"added": ["contact_center.view"], "removed": []},
                "tenant_ids": {"added": ["t-a", "t-b"], "removed": []},
                "name": {"before": null, "after": "Ana"},
            })
        );

        let spec = validate(
            "ana",
            input(Some("Ana"), &["users.manage"], &["t-b", "t-c"]),
        )
        .unwrap();
        let updated = apply(spec, Some(&created), t1);
        assert_eq!(updated.created_at, t0, "the creation time is kept");
        assert_eq!(updated.updated_at, t1);
        let (action, detail) = change(Some(&created), &updated).unwrap();
        assert_eq!(action, "user.updated");
        assert_eq!(
            detail,
            json!({
                "user_id": "ana",
                "permissions": {"added": ["users.manage"], "removed": ["contact_center.view"]},
                "tenant_ids": {"added": ["t-c"], "removed": ["t-a"]},
            })
        );
        let same = apply(
            validate(
                "ana",
                input(Some("Ana"), &["users.manage"], &["t-c", "t-b"]),
            )
            .unwrap(),
            Some(&updated),
            t1,
        );
        assert_eq!(change(Some(&updated), &same), None, "nothing changed");
    }

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_their_hash() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a.value.expose(), b.value.expose());
        assert_ne!(a.token_id, b.token_id);
        for t in [&a, &b] {
            let v = t.value.expose();
            assert!(v.starts_with(TOKEN_PREFIX));
            let raw = URL_SAFE_NO_PAD.decode(&v[TOKEN_PREFIX.len()..]).unwrap();
            assert_eq!(raw.len(), TOKEN_BYTES);
            assert_eq!(t.hash, token_hash(v));
            assert!(looks_like_token(v));
            assert!(!format!("{t:?}").contains(v), "Debug shows the value");
        }
        assert!(!looks_like_token("test-bootstrap-token"));
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            token_hash("abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "token_hash is SHA-256"
        );
    }
}
