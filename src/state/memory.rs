//! The broker's memory budget: what its messages and journal occupy, and
//! making room for one more message (the journal gives way first).

use super::view::Journal;
use crate::journal::{ConnectionId, MemoryUsage};

impl Journal {
    /// What the broker holds in memory, against its budget.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().memory_budget(1 << 20).start()?;
    /// let memory = broker.inspect(|journal| journal.memory());
    /// assert_eq!((memory.budget, memory.messages), (1 << 20, 0));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn memory(&self) -> MemoryUsage {
        let (queued, in_transactions) = self.live.held_bytes();
        MemoryUsage {
            budget: self.history.budget,
            in_use: self.history.in_use(),
            messages: self.history.meter.bytes(),
            queued,
            in_transactions,
            journal: self.history.bytes(),
        }
    }

    /// Makes room in the budget for a message of `size` bytes from
    /// `current`, letting the journal's oldest records go if need be; `Err`
    /// with the figures if live messages leave no room.
    pub(crate) fn make_room(
        &mut self,
        size: usize,
        current: Option<ConnectionId>,
    ) -> Result<(), MemoryUsage> {
        while self.history.in_use() + size > self.history.budget {
            if !self.history.evict_one(current) {
                return Err(self.memory());
            }
        }
        Ok(())
    }
}
