//! What the embedded writer remembers between transactions, so that the hot path reads less:
//! the calls it stored last, and the enabled subscriptions.
//!
//! The writer owns the memory ([`Remembered`]); what a transaction, and each job's savepoint
//! within it, changes is kept apart ([`Changes`]) and joins the memory only when that
//! transaction commits (a job's, when its savepoint is released). A rollback drops its
//! changes with the transaction: nothing else needs to be forgotten. Removing what is
//! remembered (a call taken out, to be changed) is always safe, so it reaches every layer
//! at once; anything learnt waits for the commit.
//!
//! PostgreSQL remembers nothing: other instances write the same rows.

use super::calls::CallRow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Beyond this many calls, the memory of calls starts over.
const CALLS: usize = 4096;

/// The enabled subscriptions and the event types each wants.
pub type EnabledSubscriptions = Vec<(String, Vec<String>)>;

/// What committed transactions left: the writer's memory.
#[derive(Debug, Default)]
pub(super) struct Remembered {
    /// Keyed by the provider's call id alone (a lookup allocates nothing); an entry of
    /// another connection is a miss.
    calls: HashMap<String, CallRow>,
    wanted: Option<Arc<EnabledSubscriptions>>,
}

impl Remembered {
    /// Takes in what a committed transaction learnt.
    pub(super) fn absorb(&mut self, changes: Changes) {
        if changes.in_doubt {
            *self = Self::default();
        }
        for (key, call) in changes.calls {
            if self.calls.len() >= CALLS {
                self.calls.clear();
            }
            self.calls.insert(key, call);
        }
        match changes.wanted {
            Learnt::Nothing => {}
            Learnt::Forgotten => self.wanted = None,
            Learnt::Read(w) => self.wanted = Some(w),
        }
    }
}

/// What an open transaction (or one job's savepoint in it) learnt, not yet committed.
#[derive(Debug, Default)]
pub(super) struct Changes {
    calls: HashMap<String, CallRow>,
    wanted: Learnt,
    /// Everything remembered before is in doubt (a savepoint whose end failed).
    in_doubt: bool,
}

impl Changes {
    /// Changes that make the memory start over: for a job whose savepoint could not be
    /// closed, whose writes may or may not stay.
    pub(super) fn doubtful() -> Self {
        Self {
            in_doubt: true,
            ..Self::default()
        }
    }

    /// Takes in what a job's released savepoint learnt.
    pub(super) fn absorb(&mut self, inner: Changes) {
        if inner.in_doubt {
            *self = Self::doubtful();
        }
        self.calls.extend(inner.calls);
        if !matches!(inner.wanted, Learnt::Nothing) {
            self.wanted = inner.wanted;
        }
    }
}

/// What a transaction learnt of the enabled subscriptions.
#[derive(Debug, Default)]
enum Learnt {
    #[default]
    Nothing,
    /// A subscription changed: what was read before is stale.
    Forgotten,
    Read(Arc<EnabledSubscriptions>),
}

/// The memory as one job sees it: what is committed, what its transaction learnt so far
/// (`outer`, for a job in a savepoint), and its own changes, where whatever it learns goes.
#[derive(Debug, Clone, Copy)]
pub struct Memory<'m> {
    committed: &'m RefCell<Remembered>,
    outer: Option<&'m RefCell<Changes>>,
    own: &'m RefCell<Changes>,
}

impl<'m> Memory<'m> {
    pub(super) fn new(
        committed: &'m RefCell<Remembered>,
        outer: Option<&'m RefCell<Changes>>,
        own: &'m RefCell<Changes>,
    ) -> Self {
        Self {
            committed,
            outer,
            own,
        }
    }

    /// Takes the call out of every layer (whoever changes it puts it back with
    /// [`Memory::put_call`]); the newest copy, if it is of `connection_id`.
    pub fn take_call(&self, connection_id: &str, provider_call_id: &str) -> Option<CallRow> {
        let own = self.own.borrow_mut().calls.remove(provider_call_id);
        let outer = self
            .outer
            .and_then(|o| o.borrow_mut().calls.remove(provider_call_id));
        let committed =
            if self.own.borrow().in_doubt || self.outer.is_some_and(|o| o.borrow().in_doubt) {
                None
            } else {
                self.committed.borrow_mut().calls.remove(provider_call_id)
            };
        own.or(outer)
            .or(committed)
            .filter(|call| call.connection_id == connection_id)
    }

    /// Whether the call is remembered, without taking it.
    pub fn knows_call(&self, connection_id: &str, provider_call_id: &str) -> bool {
        let of_connection = |c: &CallRow| c.connection_id == connection_id;
        for layer in [Some(self.own), self.outer].into_iter().flatten() {
            if let Some(c) = layer.borrow().calls.get(provider_call_id) {
                return of_connection(c);
            }
        }
        let in_doubt =
            self.own.borrow().in_doubt || self.outer.is_some_and(|o| o.borrow().in_doubt);
        !in_doubt
            && self
                .committed
                .borrow()
                .calls
                .get(provider_call_id)
                .is_some_and(of_connection)
    }

    /// Remembers the call as written (or read, unchanged), once the job's writes commit.
    pub fn put_call(&self, call: &CallRow) {
        self.own
            .borrow_mut()
            .calls
            .insert(call.provider_call_id.clone(), call.clone());
    }

    /// The enabled subscriptions, if remembered.
    pub fn subscriptions(&self) -> Option<Arc<EnabledSubscriptions>> {
        for layer in [Some(self.own), self.outer].into_iter().flatten() {
            let layer = layer.borrow();
            match &layer.wanted {
                Learnt::Read(w) => return Some(w.clone()),
                Learnt::Forgotten => return None,
                Learnt::Nothing if layer.in_doubt => return None,
                Learnt::Nothing => {}
            }
        }
        self.committed.borrow().wanted.clone()
    }

    /// Remembers the enabled subscriptions as read, once the job's writes commit.
    pub fn put_subscriptions(&self, wanted: EnabledSubscriptions) -> Arc<EnabledSubscriptions> {
        let wanted = Arc::new(wanted);
        self.own.borrow_mut().wanted = Learnt::Read(wanted.clone());
        wanted
    }

    /// A subscription changed: what was read of them is stale.
    pub fn subscriptions_changed(&self) {
        self.own.borrow_mut().wanted = Learnt::Forgotten;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn call(pcid: &str, connection: &str, agent: Option<&str>) -> CallRow {
        CallRow {
            seq: 1,
            id: "c".into(),
            connection_id: connection.into(),
            provider: "twilio".into(),
            provider_call_id: pcid.into(),
            fold: Default::default(),
            resolution: None,
            agent_id: agent.map(Into::into),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn wanted(id: &str) -> EnabledSubscriptions {
        vec![(id.to_owned(), vec!["call.updated".to_owned()])]
    }

    /// What a transaction learnt reaches the memory only when it is committed; a job's
    /// changes join their transaction only when its savepoint is released.
    #[test]
    fn only_committed_changes_are_remembered() {
        let committed = RefCell::new(Remembered::default());
        let transaction = RefCell::new(Changes::default());
        let tx = Memory::new(&committed, None, &transaction);
        tx.put_call(&call("CA1", "conn", Some("a")));
        tx.put_subscriptions(wanted("s1"));

        // A job that learns and is rolled back: its changes are dropped with it.
        let rolled_back = RefCell::new(Changes::default());
        let job = Memory::new(&committed, Some(&transaction), &rolled_back);
        assert_eq!(job.subscriptions().unwrap()[0].0, "s1");
        job.subscriptions_changed();
        job.put_call(&call("CA2", "conn", None));
        assert!(job.subscriptions().is_none());
        drop(rolled_back);

        // A job that is released: its changes join the transaction.
        let released = RefCell::new(Changes::default());
        let job = Memory::new(&committed, Some(&transaction), &released);
        job.put_subscriptions(wanted("s2"));
        transaction.borrow_mut().absorb(released.into_inner());

        // Nothing is remembered before the commit.
        assert!(committed.borrow().calls.is_empty());
        assert!(committed.borrow().wanted.is_none());
        committed.borrow_mut().absorb(transaction.into_inner());
        let next = RefCell::new(Changes::default());
        let tx = Memory::new(&committed, None, &next);
        assert_eq!(tx.subscriptions().unwrap()[0].0, "s2");
        assert!(tx.take_call("conn", "CA2").is_none());
        assert_eq!(
            tx.take_call("conn", "CA1").unwrap().agent_id.as_deref(),
            Some("a")
        );
        // Taken out: gone from every layer until it is put back.
        assert!(tx.take_call("conn", "CA1").is_none());
    }

    /// A call is the newest copy, of its own connection only; a job whose savepoint is in
    /// doubt makes everything remembered before it a miss.
    #[test]
    fn the_newest_copy_of_the_right_connection_and_nothing_in_doubt() {
        let committed = RefCell::new(Remembered::default());
        let first = RefCell::new(Changes::default());
        Memory::new(&committed, None, &first).put_call(&call("CA1", "conn", None));
        committed.borrow_mut().absorb(first.into_inner());

        let transaction = RefCell::new(Changes::default());
        let tx = Memory::new(&committed, None, &transaction);
        tx.put_call(&call("CA1", "conn", Some("newer")));
        assert!(tx.take_call("other", "CA1").is_none());
        tx.put_call(&call("CA1", "conn", Some("newer")));
        assert_eq!(
            tx.take_call("conn", "CA1").unwrap().agent_id.as_deref(),
            Some("newer")
        );

        let transaction = RefCell::new(Changes::default());
        Memory::new(&committed, None, &transaction).put_subscriptions(wanted("s1"));
        Memory::new(&committed, None, &transaction).put_call(&call("CA3", "conn", None));
        transaction.borrow_mut().absorb(Changes::doubtful());
        let tx = Memory::new(&committed, None, &transaction);
        assert!(tx.subscriptions().is_none());
        assert!(tx.take_call("conn", "CA3").is_none());
    }
}
