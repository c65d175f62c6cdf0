//! Per-connection transcripts, each behind its own lock.
//!
//! Writers append to their own connection's transcript without taking the
//! journal's lock, so ten subscribers' writers do not queue behind each
//! other. Waits still see the change: an append wakes them when there are
//! any (an atomic count says so, so the common case costs one load).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Entry, FrameRecord, Recorder};
use crate::Direction;

#[derive(Debug)]
struct TranscriptEntry {
    at: Duration,
    direction: Direction,
    entry: Entry,
}

/// One connection's frames in and out.
#[derive(Debug)]
pub(crate) struct Transcript {
    entries: Mutex<VecDeque<TranscriptEntry>>,
    limit: usize,
    started: Instant,
    waiters: Arc<AtomicUsize>,
    recorder: Weak<Recorder>,
}

impl Transcript {
    pub(super) fn new(
        limit: usize,
        started: Instant,
        waiters: Arc<AtomicUsize>,
        recorder: Weak<Recorder>,
    ) -> Transcript {
        Transcript {
            entries: Mutex::new(VecDeque::new()),
            limit,
            started,
            waiters,
            recorder,
        }
    }

    /// Appends entries and wakes any wait. Never call it with the journal's
    /// lock held (waking takes that lock); use [`Transcript::append`] there.
    pub(crate) fn push(&self, direction: Direction, new: impl IntoIterator<Item = Entry>) {
        self.append(direction, new);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            if let Some(recorder) = self.recorder.upgrade() {
                recorder.wake();
            }
        }
    }

    /// Appends entries without waking waits (for callers holding the
    /// journal's lock, whose release wakes them); the oldest entries go once
    /// the limit is passed.
    pub(super) fn append(&self, direction: Direction, new: impl IntoIterator<Item = Entry>) {
        let at = self.started.elapsed();
        let mut entries = self.entries.lock();
        entries.extend(new.into_iter().map(|entry| TranscriptEntry {
            at,
            direction,
            entry,
        }));
        let excess = entries.len().saturating_sub(self.limit);
        entries.drain(..excess);
    }

    pub(super) fn render(&self) -> Vec<FrameRecord> {
        self.entries
            .lock()
            .iter()
            .map(|e| FrameRecord {
                at: e.at,
                direction: e.direction,
                frame: e.entry.render(),
            })
            .collect()
    }

    pub(super) fn clear(&self) {
        self.entries.lock().clear();
    }
}
