//! Chat threads, their messages, and senders blocked as spam. What a message or an action
//! does to a thread's counts is decided by `domain::chat`; this module stores it.

use super::StoreError;
use super::audit::record as audit;
use super::count;
use super::db::{Db, Row, args};
use super::{directory, from_millis, millis};
use crate::domain::chat::{Direction, ThreadCounts, ThreadState};
use crate::domain::refusal::Refusal;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

/// A thread as the API shows it. It carries no message contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    pub thread_id: String,
    pub tenant_id: String,
    /// The sender of the thread's first inbound message.
    pub customer: Option<String>,
    pub state: ThreadState,
    pub unread: bool,
    pub unanswered_messages: u32,
    /// Counted messages (a blocked sender's are not).
    pub messages: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Thread {
    /// The thread's counts, as `domain::chat` decides them.
    pub fn counts(&self) -> ThreadCounts {
        ThreadCounts {
            state: self.state,
            unread: self.unread,
            unanswered: self.unanswered_messages,
        }
    }

    pub fn set_counts(&mut self, c: ThreadCounts) {
        self.state = c.state;
        self.unread = c.unread;
        self.unanswered_messages = c.unanswered;
    }
}

macro_rules! thread_columns {
    () => {
        "id, tenant_id, customer, state, unread, unanswered, messages, last_message_at, created_at, updated_at"
    };
}

fn thread_from_row(r: &Row<'_, '_>) -> Result<Thread, StoreError> {
    let state: String = r.get(3)?;
    Ok(Thread {
        thread_id: r.get(0)?,
        tenant_id: r.get(1)?,
        customer: r.get(2)?,
        // Only this module writes the column, with `ThreadState::as_str`.
        state: ThreadState::parse(&state).unwrap_or(ThreadState::Open),
        unread: r.flag(4)?,
        unanswered_messages: count(r.get(5)?),
        messages: count(r.get(6)?),
        last_message_at: r.get::<Option<i64>>(7)?.map(from_millis),
        created_at: from_millis(r.get(8)?),
        updated_at: from_millis(r.get(9)?),
    })
}

/// A tenant's thread (thread ids are the tenant's own).
pub fn get_thread(db: &Db<'_>, tenant_id: &str, id: &str) -> Result<Option<Thread>, StoreError> {
    db.query_opt(
        concat!(
            "SELECT ",
            thread_columns!(),
            " FROM chat_threads WHERE tenant_id = ?1 AND id = ?2"
        ),
        args![tenant_id, id],
        thread_from_row,
    )
}

/// Every tenant's thread of this id (thread ids are each tenant's own).
pub fn threads_with_id(db: &Db<'_>, id: &str) -> Result<Vec<Thread>, StoreError> {
    db.query(
        concat!(
            "SELECT ",
            thread_columns!(),
            " FROM chat_threads WHERE id = ?1"
        ),
        args![id],
        thread_from_row,
    )
}

/// Stores the thread as it is now (created or updated).
pub fn save_thread(db: &Db<'_>, t: &Thread) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO chat_threads (id, tenant_id, customer, state, unread, unanswered, messages,
             last_message_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (tenant_id, id) DO UPDATE SET customer = ?3, state = ?4, unread = ?5, unanswered = ?6,
             messages = ?7, last_message_at = ?8, updated_at = ?10",
        args![
            t.thread_id,
            t.tenant_id,
            t.customer,
            t.state.as_str(),
            t.unread,
            t.unanswered_messages,
            t.messages,
            t.last_message_at.map(millis),
            millis(t.created_at),
            millis(t.updated_at)
        ],
    )?;
    Ok(())
}

/// A message to store, validated by the caller.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The client's idempotency key; `None`: every post is a new message.
    pub message_id: Option<String>,
    pub tenant_id: String,
    pub thread_id: String,
    pub sender: String,
    pub direction: Direction,
    pub body: String,
}

/// What storing a message did.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message_id: String,
    /// False when the message was kept but not counted (spam).
    pub counted: bool,
    /// True when the message id had been stored before with the same message: nothing
    /// changed, and the first answer is given again.
    pub duplicate: bool,
    pub thread: Thread,
}

fn is_blocked(db: &Db<'_>, tenant_id: &str, sender: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM chat_blocked_senders WHERE tenant_id = ?1 AND sender = ?2",
            args![tenant_id, sender],
            |_| Ok(()),
        )?
        .is_some())
}

/// A repeat of a message id: the same message answers as before, another one is refused.
fn repeat(db: &Db<'_>, m: &NewMessage, id: &str) -> Result<Option<Posted>, StoreError> {
    let stored = db.query_opt(
        "SELECT thread_id, sender, direction, body, counted FROM chat_messages
             WHERE tenant_id = ?1 AND id = ?2",
        args![m.tenant_id, id],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.flag(4)?,
            ))
        },
    )?;
    let Some((thread_id, sender, direction, body, counted)) = stored else {
        return Ok(None);
    };
    if (
        thread_id.as_str(),
        sender.as_str(),
        direction.as_str(),
        body.as_str(),
    ) != (
        m.thread_id.as_str(),
        m.sender.as_str(),
        m.direction.as_str(),
        m.body.as_str(),
    ) {
        return Err(Refusal::MessageIdReused(id.to_owned()).into());
    }
    let thread = get_thread(db, &m.tenant_id, &thread_id)?
        .ok_or_else(|| StoreError::Internal(format!("message {id} has no thread")))?;
    Ok(Some(Posted {
        message_id: id.to_owned(),
        counted,
        duplicate: true,
        thread,
    }))
}

/// Stores a message and counts it on its thread (created on first use). A message from a
/// sender blocked for the tenant, or on a spam thread, is kept but not counted, and audited.
pub fn post_message(
    db: &Db<'_>,
    m: &NewMessage,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Posted, StoreError> {
    if !directory::tenant_exists(db, &m.tenant_id)? {
        return Err(Refusal::TenantNotFound(None).into());
    }
    if let Some(id) = &m.message_id
        && let Some(posted) = repeat(db, m, id)?
    {
        return Ok(posted);
    }
    let existing = get_thread(db, &m.tenant_id, &m.thread_id)?;
    let blocked = m.direction == Direction::Inbound && is_blocked(db, &m.tenant_id, &m.sender)?;
    let counted =
        ThreadCounts::counts_message(existing.as_ref().map(|t| t.state), m.direction, blocked);
    let mut thread = existing.unwrap_or_else(|| new_thread(m, counted, now));
    if thread.customer.is_none() && m.direction == Direction::Inbound {
        thread.customer = Some(m.sender.clone());
    }
    let message_id = m.message_id.clone().unwrap_or_else(super::calls::new_id);
    let posting = Posting {
        db,
        m,
        message_id: &message_id,
        actor,
        now,
    };
    if counted {
        posting.count_on(&mut thread)?;
    } else {
        posting.audit_blocked(&thread)?;
    }
    save_thread(db, &thread)?;
    db.exec("INSERT INTO chat_messages (id, tenant_id, thread_id, sender, direction, body, counted, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", args![message_id, m.tenant_id, m.thread_id, m.sender, m.direction.as_str(), m.body, counted, millis(now)])?;
    if counted {
        db.announce_hub(&thread.tenant_id)?;
    }
    Ok(Posted {
        message_id,
        counted,
        duplicate: false,
        thread,
    })
}

/// The thread a tenant's first message on `m.thread_id` opens, counting that message or not.
fn new_thread(m: &NewMessage, counted: bool, now: OffsetDateTime) -> Thread {
    let fresh = ThreadCounts::new(counted);
    Thread {
        thread_id: m.thread_id.clone(),
        tenant_id: m.tenant_id.clone(),
        customer: None,
        state: fresh.state,
        unread: fresh.unread,
        unanswered_messages: fresh.unanswered,
        messages: 0,
        last_message_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// A message being stored, with what its audit rows need.
struct Posting<'a, 'c> {
    db: &'a Db<'c>,
    m: &'a NewMessage,
    message_id: &'a str,
    actor: &'a str,
    now: OffsetDateTime,
}

impl Posting<'_, '_> {
    /// Counts the message on its thread; a closed thread it re-opens is audited.
    fn count_on(&self, thread: &mut Thread) -> Result<(), StoreError> {
        let mut counts = thread.counts();
        if counts.message(self.m.direction) {
            let detail = json!({ "thread_id": thread.thread_id, "message_id": self.message_id });
            self.audit("chat.thread_reopened", &detail)?;
        }
        thread.set_counts(counts);
        thread.messages = thread.messages.saturating_add(1);
        thread.last_message_at = Some(self.now);
        thread.updated_at = self.now;
        Ok(())
    }

    /// Audits a message kept but not counted (a blocked sender's, or on a spam thread).
    fn audit_blocked(&self, thread: &Thread) -> Result<(), StoreError> {
        let detail = json!({
            "thread_id": thread.thread_id,
            "message_id": self.message_id,
            "sender": self.m.sender,
            "direction": self.m.direction,
        });
        self.audit("chat.message_blocked", &detail)
    }

    fn audit(&self, action: &str, detail: &serde_json::Value) -> Result<(), StoreError> {
        audit(
            self.db,
            self.now,
            self.actor,
            action,
            None,
            Some(&self.m.tenant_id),
            detail,
        )
    }
}

/// Blocks `sender` for the thread's tenant and takes every thread of theirs at that tenant
/// out of the counts. Returns those threads' ids.
pub fn block_sender(
    db: &Db<'_>,
    thread: &Thread,
    sender: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    db.exec(
        "INSERT INTO chat_blocked_senders (tenant_id, sender, thread_id, blocked_by, blocked_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_id, sender) DO NOTHING",
        args![
            thread.tenant_id,
            sender,
            thread.thread_id,
            actor,
            millis(now)
        ],
    )?;
    let mut ids: Vec<String> = db.query(
        "UPDATE chat_threads SET state = ?3, unread = 0, unanswered = 0, updated_at = ?4
         WHERE tenant_id = ?1 AND customer = ?2 RETURNING id",
        args![
            thread.tenant_id,
            sender,
            ThreadState::Spam.as_str(),
            millis(now)
        ],
        |r| r.get(0),
    )?;
    ids.sort();
    Ok(ids)
}

/// A tenant's threads, most recently active first: open and closed ones, or those of one
/// state (spam threads are listed only when asked for).
pub fn threads(
    db: &Db<'_>,
    tenant_id: &str,
    state: Option<ThreadState>,
    limit: usize,
) -> Result<Vec<Thread>, StoreError> {
    db.query(
        concat!(
            "SELECT ",
            thread_columns!(),
            " FROM chat_threads WHERE tenant_id = ?1
               AND (state = ?2 OR (CAST(?2 AS TEXT) IS NULL AND state IN ('open', 'closed')))
             ORDER BY updated_at DESC, id LIMIT ?3"
        ),
        args![
            tenant_id,
            state.map(ThreadState::as_str),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        thread_from_row,
    )
}

/// Per tenant: (unread threads, unanswered messages). The same rule as
/// `ThreadCounts::unread_thread` and `unanswered_messages`: only open threads count.
pub fn counts_by_tenant(db: &Db<'_>) -> Result<HashMap<String, (u32, u32)>, StoreError> {
    let rows = db.query(
        "SELECT tenant_id,
                CAST(SUM(CASE WHEN unread <> 0 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(unanswered) AS BIGINT)
         FROM chat_threads WHERE state = 'open' GROUP BY tenant_id",
        args![],
        |r| Ok((r.get::<String>(0)?, (count(r.get(1)?), count(r.get(2)?)))),
    )?;
    Ok(rows.into_iter().collect())
}
