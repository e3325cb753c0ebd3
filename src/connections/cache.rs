//! The webhook path's cache of connections, and the shape of a connection id (checked
//! before any lookup).

use super::ReadyConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the webhook path trusts a cached connection before re-reading it. Changes made
/// through this process are seen at once; changes made by another process (the CLI) within
/// this time.
pub(super) const CACHE_TTL: Duration = Duration::from_secs(5);

/// A cache entry: when it was read, and the connection (or that there is none).
pub(super) type Cached = (Instant, Option<Arc<ReadyConnection>>);

/// The bytes of ids the cache may hold as unknown (negative entries) before it drops them
/// all: 256 KiB, some 7,000 well-formed ids. Anyone can post to an unknown id, so what it
/// costs is bounded by size, whatever the ids.
const NEGATIVE_BUDGET_BYTES: usize = 256 * 1024;
/// Known connections cached at most (they exist in the store: an operator made them).
const MAX_KNOWN: usize = 10_000;

/// The webhook path's cache: known connections, and recently asked unknown ids, the latter
/// bounded by the bytes of their ids.
#[derive(Debug, Default)]
pub(super) struct Cache {
    entries: HashMap<String, Cached>,
    /// Bytes of the ids of the entries that are `None`.
    negative_bytes: usize,
    known: usize,
}

impl Cache {
    pub(super) fn get(&self, id: &str) -> Option<&Cached> {
        self.entries.get(id)
    }

    pub(super) fn remove(&mut self, id: &str) {
        if let Some((_, entry)) = self.entries.remove(id) {
            self.uncount(id, entry.is_some());
        }
    }

    fn uncount(&mut self, id: &str, known: bool) {
        if known {
            self.known = self.known.saturating_sub(1);
        } else {
            self.negative_bytes = self.negative_bytes.saturating_sub(id.len());
        }
    }

    pub(super) fn insert(&mut self, id: &str, cached: Cached) {
        self.remove(id);
        if cached.1.is_some() {
            if self.known >= MAX_KNOWN {
                self.entries.retain(|_, (_, e)| e.is_none());
                self.known = 0;
            }
            self.known += 1;
        } else {
            if self.negative_bytes.saturating_add(id.len()) > NEGATIVE_BUDGET_BYTES {
                self.entries.retain(|_, (_, e)| e.is_some());
                self.negative_bytes = 0;
            }
            self.negative_bytes += id.len();
        }
        self.entries.insert(id.to_owned(), cached);
    }
}

/// True when `id` has the shape of a minted connection id: `conn_` and 32 lowercase
/// hexadecimal digits (a UUID v7, simple form). Anything else is refused before any lookup.
pub fn is_connection_id(id: &str) -> bool {
    id.strip_prefix("conn_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::{Cache, NEGATIVE_BUDGET_BYTES, is_connection_id};
    use std::time::Instant;

    #[test]
    fn connection_ids_have_the_minted_shape() {
        let minted = format!("conn_{}", uuid::Uuid::now_v7().simple());
        assert!(is_connection_id(&minted));
        for bad in [
            "",
            "conn_",
            "conn_nope",
            "conn_0192",
            "conn_01936F2A7C4B7E0E8D9F0A1B2C3D4E5F",
            "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f0",
            "xonn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f",
            "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5g",
        ] {
            assert!(!is_connection_id(bad), "{bad:?}");
        }
    }

    /// Unknown ids are dropped when their bytes pass the budget, however many or long.
    #[test]
    fn the_negative_cache_is_bounded_by_bytes() {
        let mut cache = Cache::default();
        for i in 0..100_000u32 {
            let id = format!("conn_{i:032x}");
            cache.insert(&id, (Instant::now(), None));
            assert!(cache.negative_bytes <= NEGATIVE_BUDGET_BYTES);
            let held: usize = cache.entries.keys().map(String::len).sum();
            if i % 997 == 0 {
                assert_eq!(held, cache.negative_bytes);
            }
        }
        cache.remove("conn_00000000000000000000000000000001");
        let held: usize = cache.entries.keys().map(String::len).sum();
        assert_eq!(held, cache.negative_bytes);
    }
}
