//! An agent's actions on a chat thread: mark read, mark unread, close, block as spam.

use super::{Feeds, Named, OfTenant, one_visible};
use crate::access::Viewer;
use crate::domain::chat::ThreadAction;
use crate::domain::refusal::Refusal;
use crate::store::chats::{self as rows, Thread};
use crate::store::{Db, StoreError, audit};
use serde_json::json;
use time::OffsetDateTime;

impl OfTenant for Thread {
    fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
}

impl Feeds<'_> {
    /// The agent acts on a thread: see [`act_on_thread`].
    pub async fn act_on_thread(
        &self,
        agent: Viewer,
        thread: Named,
        action: ThreadAction,
    ) -> Result<Thread, StoreError> {
        self.act(move |db, now| act_on_thread(db, &agent, &thread, action, now))
            .await
    }
}

/// An agent's action on a thread it sees. A thread of a tenant the agent does not see is
/// unknown to it (404); an id several of its tenants use, without the tenant, is ambiguous
/// (409); what the action may do to the thread's counts is `domain::chat`'s decision (409
/// when refused). Blocking as spam blocks the thread's customer for its tenant and takes all
/// of their threads there out of the counts. The action is audited.
pub(super) fn act_on_thread(
    db: &Db<'_>,
    agent: &Viewer,
    named: &Named,
    action: ThreadAction,
    now: OffsetDateTime,
) -> Result<Thread, StoreError> {
    let found = rows::threads_with_id(db, &named.id)?;
    let mut thread = one_visible(found, agent, named, Refusal::ThreadNotFound, "chat thread")?;
    let mut counts = thread.counts();
    counts
        .act(action, thread.customer.is_some())
        .map_err(Refusal::ThreadAction)?;
    thread.set_counts(counts);
    thread.updated_at = now;
    rows::save_thread(db, &thread)?;
    let mut detail = json!({ "thread_id": thread.thread_id });
    if action == ThreadAction::BlockSpam
        && let Some(sender) = &thread.customer
    {
        detail["sender"] = json!(sender);
        detail["threads"] = json!(rows::block_sender(db, &thread, sender, &agent.id, now)?);
    }
    audit::record(
        db,
        now,
        &agent.id,
        action.audit_action(),
        None,
        Some(&thread.tenant_id),
        &detail,
    )?;
    db.announce_hub(&thread.tenant_id)?;
    Ok(thread)
}
