//! Directory input: the shapes tenants and numbers arrive in (API bodies, import files,
//! the upstream directory), their validation, and what a sync with the upstream directory
//! changes. Pure.

use crate::domain::numbers::{self, NumberKind};
use crate::error::AppError;
use crate::store::directory::{NumberEntry, Tenant};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A tenant as written by clients: the body of `PUT /api/v1/tenants/{id}`, where
/// `tenant_id` may be given (the same as the path's), and each entry of a tenant file or of
/// the upstream directory, where it must be. Unknown fields are refused, so that a renamed
/// field upstream is reported instead of emptying every tenant's list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    #[serde(default)]
    pub tenant_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub zip_codes: Vec<String>,
    #[serde(default)]
    pub trades: Vec<String>,
    pub booking_url: Option<String>,
}

/// A tenants document: `{"tenants": [TENANT, ...]}` (a tenant file, the upstream directory),
/// each with its `tenant_id`.
#[derive(Debug, Deserialize)]
pub struct TenantDocument {
    pub tenants: Vec<TenantInput>,
}

/// Validates every tenant of a document, all before any is used. The error names the first
/// bad tenant (its position and id) and the problem; an id listed twice is refused.
pub fn tenants_of(doc: TenantDocument) -> Result<Vec<Tenant>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(doc.tenants.len());
    for (i, rec) in doc.tenants.into_iter().enumerate() {
        let Some(id) = rec.tenant_id.clone() else {
            return Err(format!("tenant #{i} has no tenant_id"));
        };
        let t = tenant(&id, rec).map_err(|e| format!("tenant #{i} ({id:?}): {e}"))?;
        if !seen.insert(t.tenant_id.clone()) {
            return Err(format!("tenant #{i} ({id:?}) is listed twice"));
        }
        out.push(t);
    }
    Ok(out)
}

/// What a sync changed: sorted tenant ids. An unchanged tenant is in none of the lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// Each updated tenant's changed fields, by tenant id, in the order of the tenant's
    /// fields: for the console (the API answers the contract's three lists).
    #[serde(skip)]
    pub changes: BTreeMap<String, Vec<FieldChange>>,
}

/// One field of an updated tenant, before and after, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// The fields that differ between `before` and `after`, in the order of a tenant's fields.
pub fn changed_fields(before: &Tenant, after: &Tenant) -> Vec<FieldChange> {
    let list = |v: &[String]| v.join(", ");
    let url = |u: &Option<String>| u.clone().unwrap_or_default();
    [
        ("name", before.name.clone(), after.name.clone()),
        ("zip_codes", list(&before.zip_codes), list(&after.zip_codes)),
        ("trades", list(&before.trades), list(&after.trades)),
        (
            "booking_url",
            url(&before.booking_url),
            url(&after.booking_url),
        ),
    ]
    .into_iter()
    .filter(|(_, b, a)| b != a)
    .map(|(field, before, after)| FieldChange {
        field,
        before,
        after,
    })
    .collect()
}

/// The writes of a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Tenants to write: the added and the updated ones.
    pub put: Vec<Tenant>,
    /// Tenant ids to mark removed.
    pub remove: Vec<String>,
    pub report: SyncReport,
}

/// Compares the current tenants (`local`, removed ones excluded) with the upstream list.
/// Upstream tenants missing locally are added, those that differ in any field (list order
/// included) updated, and local tenants the upstream does not list removed.
pub fn plan_sync(local: &[Tenant], upstream: Vec<Tenant>) -> SyncPlan {
    let local: BTreeMap<&str, &Tenant> = local.iter().map(|t| (t.tenant_id.as_str(), t)).collect();
    let listed: BTreeSet<String> = upstream.iter().map(|t| t.tenant_id.clone()).collect();
    let mut plan = SyncPlan::default();
    for t in upstream {
        match local.get(t.tenant_id.as_str()) {
            None => plan.report.added.push(t.tenant_id.clone()),
            Some(current) if **current != t => {
                plan.report.updated.push(t.tenant_id.clone());
                let changes = changed_fields(current, &t);
                plan.report.changes.insert(t.tenant_id.clone(), changes);
            }
            Some(_) => continue,
        }
        plan.put.push(t);
    }
    plan.remove = local
        .keys()
        .filter(|id| !listed.contains(**id))
        .map(|id| (*id).to_owned())
        .collect();
    plan.report.removed = plan.remove.clone();
    plan.report.added.sort();
    plan.report.updated.sort();
    plan
}

/// A number as written by clients (`PUT /api/v1/numbers/{e164}` body, an entry of a
/// numbers file). A number read back (`GET /api/v1/numbers`) can be written as it is: it
/// may name its `e164` (the same number as the path's), and the field its kind does not use
/// may be there empty (`"tenant_id": null`, `"tenant_ids": []`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "WrittenNumber")]
pub struct NumberInput {
    pub e164: Option<String>,
    pub assignment: NumberAssignment,
}

/// Whose a number is, by kind.
#[derive(Debug, Clone)]
pub enum NumberAssignment {
    Local { tenant_id: String },
    National,
    Regional { tenant_ids: Vec<String> },
}

/// The fields a written number may have; [`NumberInput`] checks they fit its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenNumber {
    #[serde(default)]
    e164: Option<String>,
    kind: WrittenKind,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    tenant_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WrittenKind {
    Local,
    National,
    Regional,
}

impl TryFrom<WrittenNumber> for NumberInput {
    type Error = String;

    fn try_from(n: WrittenNumber) -> Result<Self, String> {
        let no_tenant_id = n.tenant_id.is_none();
        let no_tenant_ids = n.tenant_ids.as_ref().is_none_or(Vec::is_empty);
        let assignment = match n.kind {
            WrittenKind::Local => {
                no_tenant_ids
                    .then_some(())
                    .ok_or("a local number has one `tenant_id` and no `tenant_ids`")?;
                let tenant_id = n.tenant_id.ok_or("a local number needs `tenant_id`")?;
                NumberAssignment::Local { tenant_id }
            }
            WrittenKind::National => {
                (no_tenant_id && no_tenant_ids)
                    .then_some(())
                    .ok_or("a national number has no `tenant_id` nor `tenant_ids`")?;
                NumberAssignment::National
            }
            WrittenKind::Regional => {
                no_tenant_id
                    .then_some(())
                    .ok_or("a regional number has `tenant_ids` and no `tenant_id`")?;
                let tenant_ids = n.tenant_ids.ok_or("a regional number needs `tenant_ids`")?;
                NumberAssignment::Regional { tenant_ids }
            }
        };
        Ok(Self {
            e164: n.e164,
            assignment,
        })
    }
}

fn invalid(code: &'static str, msg: impl Into<String>) -> AppError {
    AppError::unprocessable(code, msg)
}

/// A lowercase slug: `hvac`, `pest-control`.
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !s.starts_with(['-', '_'])
}

/// A ZIP code: 3-10 letters, digits or `-`, surrounding blanks trimmed. One of digits only
/// is a US ZIP code and has five (a spreadsheet that read `02134` as a number wrote `2134`),
/// or five, `-` and four (ZIP+4).
pub fn zip_code(raw: &str) -> Result<String, AppError> {
    let zip = raw.trim();
    if !((3..=10).contains(&zip.len())
        && zip.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(invalid(
            "invalid_zip_code",
            format!("{zip:?} is not a ZIP code"),
        ));
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let us = match zip.split_once('-') {
        None => digits(zip).then_some((zip, "")),
        Some((five, four)) => (digits(five) && digits(four)).then_some((five, four)),
    };
    match us {
        Some((five, four)) if five.len() != 5 || !matches!(four.len(), 0 | 4) => Err(invalid(
            "invalid_zip_code",
            format!(
                "{zip:?} is not a ZIP code: a US ZIP code has 5 digits, or 5-4 (ZIP+4); one of {} digits may have lost its leading zeros",
                five.len()
            ),
        )),
        _ => Ok(zip.to_owned()),
    }
}

/// A trade: a lowercase slug.
pub fn trade(raw: &str) -> Result<String, AppError> {
    if is_slug(raw) {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "invalid_trade",
            format!("{raw:?} is not a lowercase slug (e.g. hvac, pest-control)"),
        ))
    }
}

/// Validates a tenant. Trades are lowercase slugs; ZIP codes are 3-10 letters, digits or
/// `-`; the booking page is an http(s) URL.
pub fn tenant(id: &str, input: TenantInput) -> Result<Tenant, AppError> {
    crate::ids::check_id("tenant id", id)?;
    if let Some(named) = input.tenant_id.as_deref()
        && named != id
    {
        return Err(invalid(
            "tenant_id_mismatch",
            format!("the body names tenant {named:?}, the path {id:?}"),
        ));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("invalid_name", "name must be 1-200 characters"));
    }
    let mut zip_codes = Vec::new();
    for zip in input.zip_codes {
        let zip = zip_code(&zip)?;
        if !zip_codes.contains(&zip) {
            zip_codes.push(zip);
        }
    }
    let mut trades = Vec::new();
    for t in input.trades {
        let t = trade(&t)?;
        if !trades.contains(&t) {
            trades.push(t);
        }
    }
    if let Some(url) = &input.booking_url {
        let ok = reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(invalid(
                "invalid_booking_url",
                "booking_url must be an http(s) URL",
            ));
        }
    }
    Ok(Tenant {
        tenant_id: id.to_owned(),
        name: name.to_owned(),
        zip_codes,
        trades,
        booking_url: input.booking_url,
    })
}

/// Normalizes a number given by a client: it must be in E.164 form (`numbers::to_e164`).
pub fn e164(raw: &str) -> Result<String, AppError> {
    match numbers::to_e164(raw) {
        Some(n) if raw.trim().starts_with('+') => Ok(n),
        _ => Err(AppError::bad_request(
            "invalid_number",
            format!("{raw:?} is not a phone number in E.164 form (+15125550100)"),
        )),
    }
}

/// Validates a number entry (tenant existence is checked by the store).
pub fn number(raw: &str, input: NumberInput) -> Result<NumberEntry, AppError> {
    let e164 = e164(raw)?;
    if let Some(named) = input.e164.as_deref()
        && self::e164(named)? != e164
    {
        return Err(invalid(
            "e164_mismatch",
            format!("the body names number {named:?}, the path {e164:?}"),
        ));
    }
    let entry = match input.assignment {
        NumberAssignment::Local { tenant_id } => {
            crate::ids::check_id("tenant_id", &tenant_id)?;
            NumberEntry {
                e164,
                kind: NumberKind::Local,
                tenant_id: Some(tenant_id),
                tenant_ids: Vec::new(),
            }
        }
        NumberAssignment::National => NumberEntry {
            e164,
            kind: NumberKind::National,
            tenant_id: None,
            tenant_ids: Vec::new(),
        },
        NumberAssignment::Regional { mut tenant_ids } => {
            if tenant_ids.is_empty() {
                return Err(invalid(
                    "invalid_tenant_ids",
                    "a regional number serves at least one tenant",
                ));
            }
            for t in &tenant_ids {
                crate::ids::check_id("tenant_ids", t)?;
            }
            tenant_ids.sort();
            tenant_ids.dedup();
            NumberEntry {
                e164,
                kind: NumberKind::Regional,
                tenant_id: None,
                tenant_ids,
            }
        }
    };
    Ok(entry)
}

/// The tenants a number entry names.
pub fn named_tenants(n: &NumberEntry) -> impl Iterator<Item = &String> {
    n.tenant_id.iter().chain(n.tenant_ids.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(zips: &[&str], trades: &[&str]) -> TenantInput {
        TenantInput {
            tenant_id: None,
            name: "Austin HVAC".into(),
            zip_codes: zips.iter().map(|s| (*s).to_owned()).collect(),
            trades: trades.iter().map(|s| (*s).to_owned()).collect(),
            booking_url: Some("https://t.example.com/book".into()),
        }
    }

    #[test]
    fn tenants_are_validated() {
        assert!(tenant("t-austin", input(&["78701"], &["hvac", "pest-control"])).is_ok());
        assert!(tenant("t austin", input(&["78701"], &["hvac"])).is_err());
        assert!(tenant("t-austin", input(&["7"], &["hvac"])).is_err());
        for zip in ["78701", "02134", "78701-1234", "K1A0B1", "SW1A-1AA"] {
            assert!(
                tenant("t-austin", input(&[zip], &["hvac"])).is_ok(),
                "{zip}"
            );
        }
        for zip in ["2134", "787010", "7870-1234", "78701-12", "123"] {
            let e = tenant("t-austin", input(&[zip], &["hvac"])).unwrap_err();
            assert_eq!(e.code(), "invalid_zip_code", "{zip}");
        }
        let e = zip_code("2134").unwrap_err().to_string();
        assert!(e.contains("5 digits") && e.contains("leading zero"), "{e}");
        assert!(tenant("t-austin", input(&["78701"], &["HVAC"])).is_err());
        assert!(tenant("t-austin", input(&["78701"], &[""])).is_err());
        let mut bad_url = input(&["78701"], &["hvac"]);
        bad_url.booking_url = Some("javascript:alert(1)".into());
        assert!(tenant("t-austin", bad_url).is_err());
    }

    fn written(json: serde_json::Value) -> Result<NumberInput, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_written_number_may_carry_the_fields_its_kind_does_not_use_only_empty() {
        use serde_json::json;
        let local = |n: Result<NumberInput, String>| matches!(n.map(|n| n.assignment), Ok(NumberAssignment::Local { tenant_id }) if tenant_id == "t-a");
        assert!(local(written(json!({"kind": "local", "tenant_id": "t-a"}))));
        assert!(local(written(
            json!({"kind": "local", "tenant_id": "t-a", "tenant_ids": []})
        )));
        let assignment = |json| written(json).map(|n| n.assignment);
        assert!(matches!(
            assignment(json!({"kind": "national"})),
            Ok(NumberAssignment::National)
        ));
        let read_back = json!({"e164": "+18005550199", "kind": "national", "tenant_id": null, "tenant_ids": []});
        assert!(matches!(
            assignment(read_back.clone()),
            Ok(NumberAssignment::National)
        ));
        assert!(matches!(
            assignment(json!({"kind": "regional", "tenant_id": null, "tenant_ids": ["t-a", "t-b"]})),
            Ok(NumberAssignment::Regional { tenant_ids }) if tenant_ids == ["t-a", "t-b"]
        ));
        // The number it names must be the path's, in any spelling.
        let input = written(read_back).unwrap();
        assert!(number("+1 (800) 555-0199", input.clone()).is_ok());
        let err = number("+18005550100", input).unwrap_err();
        assert!(
            matches!(
                err,
                AppError::Unprocessable {
                    code: "e164_mismatch",
                    ..
                }
            ),
            "{err:?}"
        );
        for refused in [
            json!({"kind": "local"}),
            json!({"kind": "local", "tenant_id": null}),
            json!({"kind": "local", "tenant_id": "t-a", "tenant_ids": ["t-b"]}),
            json!({"kind": "national", "tenant_id": "t-a"}),
            json!({"kind": "national", "tenant_ids": ["t-a"]}),
            json!({"kind": "regional"}),
            json!({"kind": "regional", "tenant_id": "t-a", "tenant_ids": ["t-a"]}),
            json!({"kind": "mobile"}),
            json!({"tenant_id": "t-a"}),
            json!({"kind": "national", "note": "x"}),
        ] {
            assert!(written(refused.clone()).is_err(), "{refused}");
        }
    }

    fn record(json: serde_json::Value) -> Result<Vec<Tenant>, String> {
        let doc: TenantDocument = serde_json::from_value(json).map_err(|e| e.to_string())?;
        tenants_of(doc)
    }

    #[test]
    fn tenant_documents_are_validated_whole() {
        let ok = record(serde_json::json!({"tenants": [
            {"tenant_id": "t-b", "name": "B", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": null},
            {"tenant_id": "t-a", "name": "A"}
        ]}))
        .unwrap();
        assert_eq!(ok.len(), 2);
        let e = record(serde_json::json!({"tenants": [
            {"tenant_id": "t-a", "name": "A"},
            {"tenant_id": "t-b", "name": "B", "trades": ["HVAC"]}
        ]}))
        .unwrap_err();
        assert!(
            e.contains("tenant #1") && e.contains("t-b") && e.contains("HVAC"),
            "{e}"
        );
        let e = record(serde_json::json!({"tenants": [
            {"tenant_id": "t-a", "name": "A"}, {"tenant_id": "t-a", "name": "A again"}
        ]}))
        .unwrap_err();
        assert!(e.contains("listed twice"), "{e}");
        let e = record(
            serde_json::json!({"tenants": [{"tenant_id": "t-a", "name": "A", "zipcodes": []}]}),
        )
        .unwrap_err();
        assert!(e.contains("zipcodes"), "an unknown field is refused: {e}");
        assert!(record(serde_json::json!({"tenants": [{"name": "A"}]})).is_err());
    }

    #[test]
    fn a_sync_plan_lists_added_updated_and_removed_tenants_sorted() {
        let t = |id: &str, name: &str| {
            tenant(
                id,
                TenantInput {
                    name: name.into(),
                    ..input(&["78701"], &["hvac"])
                },
            )
            .unwrap()
        };
        let local = vec![t("t-a", "A"), t("t-b", "B"), t("t-c", "C"), t("t-z", "Z")];
        let upstream = vec![
            t("t-y", "Y"),
            t("t-b", "B renamed"),
            t("t-a", "A"),
            t("t-d", "D"),
        ];
        let plan = plan_sync(&local, upstream);
        assert_eq!(plan.report.added, ["t-d", "t-y"]);
        assert_eq!(plan.report.updated, ["t-b"]);
        assert_eq!(plan.report.removed, ["t-c", "t-z"]);
        let written: Vec<_> = plan.put.iter().map(|t| t.tenant_id.as_str()).collect();
        assert_eq!(
            written,
            ["t-y", "t-b", "t-d"],
            "an unchanged tenant is not written"
        );
        assert_eq!(plan_sync(&local, local.clone()), SyncPlan::default());
        assert_eq!(
            plan.report.changes["t-b"],
            [FieldChange {
                field: "name",
                before: "B".into(),
                after: "B renamed".into()
            }],
            "only the field that changed"
        );
    }

    #[test]
    fn changed_fields_name_each_field_that_differs_before_and_after() {
        let before = tenant("t-a", input(&["78701"], &["hvac"])).unwrap();
        let before = Tenant {
            booking_url: None,
            ..before
        };
        let mut after = before.clone();
        after.zip_codes = vec!["78701".into(), "78702".into()];
        after.booking_url = Some("https://a.example/book".into());
        let changes = changed_fields(&before, &after);
        let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["zip_codes", "booking_url"]);
        assert_eq!(changes[0].before, "78701");
        assert_eq!(changes[0].after, "78701, 78702");
        assert_eq!(changes[1].before, "", "no URL before");
        assert!(changed_fields(&before, &before).is_empty());
    }

    #[test]
    fn numbers_must_be_e164() {
        assert_eq!(e164("+1 512 555 0100").unwrap(), "+15125550100");
        assert!(e164("5125550100").is_err());
        assert!(e164("+1").is_err());
        assert_eq!(e164("+15551234567").unwrap(), "+15551234567");
        let input = |assignment| NumberInput {
            e164: None,
            assignment,
        };
        let n = number("+18005550199", input(NumberAssignment::National)).unwrap();
        assert_eq!(n.kind, NumberKind::National);
        let nobody = NumberAssignment::Regional { tenant_ids: vec![] };
        assert!(number("+18005550199", input(nobody)).is_err());
    }
}
