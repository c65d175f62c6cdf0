//! One connection's transcript: its frames in and out, bounded.
//!
//! Kept in the broker's state and written under its lock, in the same pass
//! that handles the frame: an incoming frame when the session takes it, an
//! outgoing one when it is queued for the connection's writer.

use std::collections::VecDeque;
use std::time::Duration;

use super::tracked::Entry;
use crate::journal::{Direction, FrameRecord};

#[derive(Debug)]
struct TranscriptEntry {
    at: Duration,
    direction: Direction,
    entry: Entry,
}

/// One connection's frames in and out.
#[derive(Debug)]
pub(crate) struct Transcript {
    entries: VecDeque<TranscriptEntry>,
    limit: usize,
}

impl Transcript {
    pub(crate) fn new(limit: usize) -> Transcript {
        Transcript {
            entries: VecDeque::new(),
            limit,
        }
    }

    /// Appends an entry; the oldest goes once the limit is passed.
    pub(crate) fn push(&mut self, at: Duration, direction: Direction, entry: Entry) {
        if self.entries.len() >= self.limit {
            self.entries.pop_front();
        }
        if self.limit > 0 {
            self.entries.push_back(TranscriptEntry {
                at,
                direction,
                entry,
            });
        }
    }

    pub(crate) fn render(&self) -> Vec<FrameRecord> {
        self.entries
            .iter()
            .map(|e| FrameRecord {
                at: e.at,
                direction: e.direction,
                frame: e.entry.render(),
            })
            .collect()
    }

    /// The last `count` entries, oldest first.
    pub(crate) fn last(&self, count: usize) -> Vec<FrameRecord> {
        let skip = self.entries.len().saturating_sub(count);
        self.entries
            .iter()
            .skip(skip)
            .map(|e| FrameRecord {
                at: e.at,
                direction: e.direction,
                frame: e.entry.render(),
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
