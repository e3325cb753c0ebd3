//! What every adapter's recordings listing shares ([`crate::kit::Adapter::listed_recordings`]):
//! the recordings of the call asked about, each read into one event of that call (a recording
//! another call names is left out), keyed as the adapter chooses.

use super::{CallEvent, EventKind, Leg, Party, RecordingEvent, RecordingProgress};

/// The events of the listed `items` of `call`: `call_of` names the call an item is of
/// (`None`: not said, taken as `call`'s); `read` gives an item's dedupe key and kind, `None`
/// for one that needs no event (already deleted at the provider), or why the item is not
/// the documented one.
pub fn events<T>(
    call: &str,
    items: &[T],
    call_of: impl Fn(&T) -> Option<&str>,
    read: impl Fn(&T) -> Result<Option<(String, EventKind)>, String>,
) -> Result<Vec<CallEvent>, String> {
    let mut events = Vec::new();
    for item in items {
        if call_of(item).is_some_and(|c| c != call) {
            continue;
        }
        if let Some((dedupe_key, kind)) = read(item)? {
            events.push(CallEvent {
                dedupe_key,
                provider_call_id: call.to_owned(),
                occurred_at: None,
                party: Party::default(),
                kind,
                leg: Leg::default(),
            });
        }
    }
    Ok(events)
}

/// A listed recording `id` as an event kind: a recording in `status`, without its URL (a
/// listing never exposes one), or, for a status the adapter does not know (`None`), an
/// `Unmapped` event naming the provider's `status` field and its `raw` value.
pub fn recording(
    id: &str,
    status: Option<RecordingProgress>,
    field: &str,
    raw: &str,
    duration_s: Option<u64>,
) -> EventKind {
    match status {
        Some(status) => EventKind::Recording(RecordingEvent {
            recording_id: id.to_owned(),
            status,
            url: None,
            duration_s,
        }),
        None => EventKind::unmapped(field, raw),
    }
}
