//! One connection's transcript: its frames in and out, bounded.
//!
//! Kept in the broker's state and written under its lock, in the same pass
//! that handles the frame: an incoming frame when the session takes it, an
//! outgoing one when it is queued for the connection's writer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::kept::TranscriptItem;
use crate::journal::{Direction, FrameRecord};
use crate::protocol::message::StoredMessage;

#[derive(Debug)]
struct TranscriptEntry {
    at: Duration,
    direction: Direction,
    item: TranscriptItem,
}

/// One connection's frames in and out.
#[derive(Debug)]
pub(crate) struct Transcript {
    entries: VecDeque<TranscriptEntry>,
    limit: usize,
    /// How many entries were dropped from the front (so a position stays
    /// valid while newer entries arrive).
    dropped: u64,
    /// What the entries hold (see [`TranscriptItem::weight`]).
    bytes: usize,
}

impl Transcript {
    pub(crate) fn new(limit: usize) -> Transcript {
        Transcript {
            entries: VecDeque::new(),
            limit,
            dropped: 0,
            bytes: 0,
        }
    }

    /// Appends an entry, the oldest going once the limit is passed; returns
    /// its position (for [`Transcript::fill`]).
    pub(crate) fn push(
        &mut self,
        at: Duration,
        direction: Direction,
        entry: TranscriptItem,
    ) -> u64 {
        if self.entries.len() >= self.limit {
            self.drop_oldest();
        }
        if self.limit > 0 {
            self.bytes += entry.weight();
            self.entries.push_back(TranscriptEntry {
                at,
                direction,
                item: entry,
            });
        }
        self.dropped + self.entries.len() as u64 - 1
    }

    /// Puts `entry` in place of the one at `position` (a placeholder), if it
    /// is still kept.
    pub(crate) fn fill(&mut self, position: u64, entry: TranscriptItem) {
        let Some(index) = position.checked_sub(self.dropped) else {
            return;
        };
        if let Some(kept) = usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            self.bytes = self.bytes - kept.item.weight() + entry.weight();
            kept.item = entry;
        }
    }

    /// Lets the oldest entry go (for the count limit or the journal's byte
    /// bound); false if there was none.
    pub(crate) fn drop_oldest(&mut self) -> bool {
        let Some(oldest) = self.entries.pop_front() else {
            return false;
        };
        self.dropped += 1;
        self.bytes -= oldest.item.weight();
        true
    }

    /// What the entries hold.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Every entry, oldest first; `messages` finds a message the journal
    /// still keeps by its seq.
    pub(crate) fn render(
        &self,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> Vec<FrameRecord> {
        self.last(self.entries.len(), messages)
    }

    /// The last `count` entries, oldest first (a place still being filled
    /// left out).
    pub(crate) fn last(
        &self,
        count: usize,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> Vec<FrameRecord> {
        let skip = self.entries.len().saturating_sub(count);
        self.entries
            .iter()
            .skip(skip)
            .filter(|e| !matches!(e.item, TranscriptItem::Pending))
            .map(|e| {
                let (frame, message_evicted) = e.item.render(messages);
                FrameRecord {
                    at: e.at,
                    direction: e.direction,
                    frame,
                    message_evicted,
                }
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.dropped += self.entries.len() as u64;
        self.entries.clear();
        self.bytes = 0;
    }
}
