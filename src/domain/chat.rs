//! Chat threads: what a message or an agent's action does to a thread's counts.
//!
//! Only open threads count. An inbound message makes its thread unread and adds one
//! unanswered message (and re-opens a closed thread); an outbound message answers them
//! (unanswered back to 0) and leaves the read flag alone. Closing a thread settles it (read,
//! nothing unanswered). A spam thread, or an inbound message from a sender blocked for the
//! tenant, is kept but never counted.

use serde::{Deserialize, Serialize};

/// Where a thread stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    Open,
    Closed,
    /// Its customer is blocked as spam for the tenant: out of every count.
    Spam,
}

impl ThreadState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Spam => "spam",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "spam" => Some(Self::Spam),
            _ => None,
        }
    }
}

/// Who wrote a message: the customer (inbound) or the tenant's side (outbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// An agent's action on a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAction {
    MarkRead,
    MarkUnread,
    Close,
    BlockSpam,
}

impl ThreadAction {
    /// The audit action it is recorded as.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::MarkRead => "chat.thread_marked_read",
            Self::MarkUnread => "chat.thread_marked_unread",
            Self::Close => "chat.thread_closed",
            Self::BlockSpam => "chat.sender_blocked",
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionRefused {
    /// The thread is spam: only `BlockSpam` (a no-op) applies.
    ThreadIsSpam,
    /// `BlockSpam` on a thread that has no inbound message: no sender to block.
    NoCustomer,
}

/// The counted part of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadCounts {
    pub state: ThreadState,
    pub unread: bool,
    pub unanswered: u32,
}

impl ThreadCounts {
    /// A thread before its first message: open, or spam when that message is not counted.
    pub fn new(counted: bool) -> Self {
        Self {
            state: if counted {
                ThreadState::Open
            } else {
                ThreadState::Spam
            },
            unread: false,
            unanswered: 0,
        }
    }

    /// Whether a message is counted: not on a spam thread, and not inbound from a sender
    /// blocked for the tenant. `state` is `None` for a thread the message creates.
    pub fn counts_message(
        state: Option<ThreadState>,
        direction: Direction,
        sender_blocked: bool,
    ) -> bool {
        state != Some(ThreadState::Spam) && !(direction == Direction::Inbound && sender_blocked)
    }

    /// Applies a counted message. Returns true when it re-opened a closed thread.
    pub fn message(&mut self, direction: Direction) -> bool {
        match direction {
            Direction::Inbound => {
                let reopened = self.state == ThreadState::Closed;
                if reopened {
                    self.state = ThreadState::Open;
                }
                self.unread = true;
                self.unanswered = self.unanswered.saturating_add(1);
                reopened
            }
            Direction::Outbound => {
                self.unanswered = 0;
                false
            }
        }
    }

    /// Applies an agent's action. `has_customer`: the thread has an inbound sender.
    pub fn act(&mut self, action: ThreadAction, has_customer: bool) -> Result<(), ActionRefused> {
        if self.state == ThreadState::Spam {
            return match action {
                ThreadAction::BlockSpam => Ok(()),
                _ => Err(ActionRefused::ThreadIsSpam),
            };
        }
        match action {
            ThreadAction::MarkRead => self.unread = false,
            ThreadAction::MarkUnread => self.unread = true,
            ThreadAction::Close => self.settle(ThreadState::Closed),
            ThreadAction::BlockSpam => {
                if !has_customer {
                    return Err(ActionRefused::NoCustomer);
                }
                self.settle(ThreadState::Spam);
            }
        }
        Ok(())
    }

    fn settle(&mut self, state: ThreadState) {
        self.state = state;
        self.unread = false;
        self.unanswered = 0;
    }

    /// 1 when the thread counts as an unread thread.
    pub fn unread_thread(&self) -> u32 {
        u32::from(self.state == ThreadState::Open && self.unread)
    }

    /// The unanswered messages it counts.
    pub fn unanswered_messages(&self) -> u32 {
        if self.state == ThreadState::Open {
            self.unanswered
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Inbound, Outbound};

    fn open() -> ThreadCounts {
        ThreadCounts::new(true)
    }

    #[test]
    fn inbound_counts_and_outbound_answers() {
        let mut t = open();
        t.message(Inbound);
        t.message(Inbound);
        assert_eq!((t.unread_thread(), t.unanswered_messages()), (1, 2));
        t.message(Outbound);
        assert_eq!(t.unanswered_messages(), 0);
        assert_eq!(
            t.unread_thread(),
            1,
            "a reply does not mark the thread read"
        );
        t.act(ThreadAction::MarkRead, true).unwrap();
        assert_eq!(t.unread_thread(), 0);
        t.act(ThreadAction::MarkUnread, true).unwrap();
        assert_eq!(t.unread_thread(), 1);
    }

    #[test]
    fn closed_threads_count_nothing_until_an_inbound_message_reopens_them() {
        let mut t = open();
        t.message(Inbound);
        t.act(ThreadAction::Close, true).unwrap();
        assert_eq!((t.unread_thread(), t.unanswered_messages()), (0, 0));
        t.act(ThreadAction::MarkUnread, true).unwrap();
        assert_eq!(t.unread_thread(), 0, "closed: not counted");
        assert!(!t.message(Outbound));
        assert_eq!(t.state, ThreadState::Closed, "a reply does not re-open");
        assert!(t.message(Inbound), "re-opened");
        assert_eq!(t.state, ThreadState::Open);
        assert_eq!((t.unread_thread(), t.unanswered_messages()), (1, 1));
    }

    #[test]
    fn spam_is_out_of_the_counts_and_refuses_other_actions() {
        let mut t = open();
        t.message(Inbound);
        assert_eq!(
            t.act(ThreadAction::BlockSpam, false),
            Err(ActionRefused::NoCustomer)
        );
        t.act(ThreadAction::BlockSpam, true).unwrap();
        assert_eq!((t.unread_thread(), t.unanswered_messages()), (0, 0));
        assert_eq!(t.act(ThreadAction::BlockSpam, true), Ok(()));
        for a in [
            ThreadAction::MarkRead,
            ThreadAction::MarkUnread,
            ThreadAction::Close,
        ] {
            assert_eq!(t.act(a, true), Err(ActionRefused::ThreadIsSpam));
        }
        assert_eq!(ThreadCounts::new(false).state, ThreadState::Spam);
    }

    #[test]
    fn what_is_counted() {
        use ThreadState::*;
        assert!(ThreadCounts::counts_message(None, Inbound, false));
        assert!(ThreadCounts::counts_message(Some(Closed), Inbound, false));
        assert!(!ThreadCounts::counts_message(Some(Open), Inbound, true));
        assert!(!ThreadCounts::counts_message(None, Inbound, true));
        assert!(ThreadCounts::counts_message(Some(Open), Outbound, true));
        assert!(!ThreadCounts::counts_message(Some(Spam), Outbound, false));
    }
}
