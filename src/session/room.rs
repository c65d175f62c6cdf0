//! Flow control: whether a message fits where it is going (its queue, its
//! transaction, the broker's memory budget), checked before it is accepted.
//! A producer that would pass a bound gets an ERROR saying which and by how
//! much, and nothing of the frame takes effect: nothing is lost silently.

use std::collections::BTreeMap;

use super::{Failure, Session};
use crate::protocol::message::StoredMessage;
use crate::state::Journal;
use crate::state::live::TxOp;

impl Session {
    /// Whether a message of `size` bytes to `destination` (in `transaction`
    /// if named) fits.
    pub(super) fn check_room(
        &self,
        journal: &mut Journal,
        destination: &str,
        transaction: Option<&str>,
        size: usize,
    ) -> Result<(), Failure> {
        match transaction {
            Some(tx) => self.check_transaction_room(journal, tx, size)?,
            None => self.check_queue_room(journal, destination, 1, size)?,
        }
        journal
            .make_room(size, Some(self.conn))
            .map_err(|memory| {
                Failure::new(
                    format!(
                        "the broker's memory budget is exhausted: a message of {size} bytes does not fit ({memory})"
                    ),
                    "Nothing of the frame took effect; consumers must take messages off the queues, or open transactions end, first.",
                )
            })
    }

    fn check_transaction_room(
        &self,
        journal: &mut Journal,
        tx: &str,
        size: usize,
    ) -> Result<(), Failure> {
        let config = &self.state.config;
        let Some(held) = journal.live.transaction_mut(self.conn, tx) else {
            return Ok(()); // an unknown transaction is refused on its own
        };
        if let Some(max) = config.rules.max_messages_per_transaction {
            if held.messages() >= max {
                return Err(Failure::new(
                    format!("too many messages in transaction '{tx}': at most {max}"),
                    format!("This broker allows at most {max} messages in one transaction."),
                ));
            }
        }
        let max = config.max_transaction_bytes;
        if held.bytes() + size > max {
            return Err(Failure::new(
                format!(
                    "transaction '{tx}' is full: its messages occupy {} bytes, a message of {size} bytes would pass the bound of {max}",
                    held.bytes()
                ),
                "Nothing of the frame took effect; commit or abort the transaction first.",
            ));
        }
        Ok(())
    }

    /// Whether `count` more messages of `size` bytes in all fit on
    /// `destination` (topics always have room).
    fn check_queue_room(
        &self,
        journal: &Journal,
        destination: &str,
        count: usize,
        size: usize,
    ) -> Result<(), Failure> {
        let Some((waiting, bytes)) = journal.live.waiting_on(destination) else {
            return Ok(());
        };
        let consumers =
            "Nothing of the frame took effect; consumers must take messages off the queue first.";
        if let Some(max) = self.state.config.max_queue_depth {
            if waiting + count > max {
                let plural = if max == 1 { "" } else { "s" };
                return Err(Failure::new(
                    format!(
                        "queue '{destination}' is full: at most {max} message{plural} may wait"
                    ),
                    consumers,
                ));
            }
        }
        let max = self.state.config.max_queue_bytes;
        if bytes + size > max {
            return Err(Failure::new(
                format!(
                    "queue '{destination}' is full: its waiting messages occupy {bytes} bytes, {size} more would pass the bound of {max}"
                ),
                consumers,
            ));
        }
        Ok(())
    }

    /// Whether a transaction's messages fit on their queues at COMMIT.
    pub(super) fn check_commit_room(&self, journal: &Journal, ops: &[TxOp]) -> Result<(), Failure> {
        let mut per_destination: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for op in ops {
            if let TxOp::Send(message) = op {
                let entry = per_destination.entry(&message.destination).or_default();
                entry.0 += 1;
                entry.1 += message.cost();
            }
        }
        for (destination, (count, size)) in per_destination {
            self.check_queue_room(journal, destination, count, size)?;
        }
        Ok(())
    }
}

/// What a SEND's message will occupy.
pub(super) fn message_size(frame: &crate::protocol::frame::Frame) -> usize {
    StoredMessage::cost_of(frame.headers(), frame.body().len())
}
