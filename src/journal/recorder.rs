//! The journal behind its lock, the condition variable waits block on, and
//! the event listeners.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex};

use super::{Event, Journal, JournalLimits};

/// The journal locked for changes; dropping it unlocks and wakes the waits.
pub(crate) struct Updating<'a> {
    journal: Option<parking_lot::MutexGuard<'a, Journal>>,
    changed: &'a Condvar,
}

impl std::ops::Deref for Updating<'_> {
    type Target = Journal;
    fn deref(&self) -> &Journal {
        self.journal.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for Updating<'_> {
    fn deref_mut(&mut self) -> &mut Journal {
        self.journal.as_mut().expect("held until drop")
    }
}

impl Drop for Updating<'_> {
    fn drop(&mut self) {
        drop(self.journal.take());
        self.changed.notify_all();
    }
}

/// The journal, its lock, and the condition variable waits block on.
#[derive(Debug)]
pub(crate) struct Recorder {
    journal: Mutex<Journal>,
    changed: Condvar,
    waiters: Arc<AtomicUsize>,
}

impl Recorder {
    pub(crate) fn new(limits: JournalLimits, recording: bool) -> Arc<Recorder> {
        let waiters = Arc::new(AtomicUsize::new(0));
        Arc::new_cyclic(|recorder| Recorder {
            journal: Mutex::new(Journal::new(
                limits,
                recording,
                waiters.clone(),
                recorder.clone(),
            )),
            changed: Condvar::new(),
            waiters,
        })
    }

    /// Wakes every wait after a change made outside the journal's lock:
    /// taking the lock first means a wait between its check and its sleep
    /// cannot miss the change.
    pub(crate) fn wake(&self) {
        drop(self.journal.lock());
        self.changed.notify_all();
    }

    /// Locks the journal for a series of changes; waits wake when the guard drops.
    pub(crate) fn lock(&self) -> Updating<'_> {
        Updating {
            journal: Some(self.journal.lock()),
            changed: &self.changed,
        }
    }

    /// Changes the journal and wakes every wait.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut Journal) -> R) -> R {
        let result = change(&mut self.journal.lock());
        self.changed.notify_all();
        result
    }

    /// Reads the journal.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&Journal) -> R) -> R {
        read(&self.journal.lock())
    }

    /// Blocks until `done` holds or `timeout` passes; re-checks on every change.
    pub(crate) fn wait(&self, timeout: Duration, mut done: impl FnMut(&Journal) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut journal = self.journal.lock();
        let result = loop {
            if done(&journal) {
                break true;
            }
            if self.changed.wait_until(&mut journal, deadline).timed_out() {
                break done(&journal);
            }
        };
        drop(journal);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    pub(crate) fn listen(&self, sender: Sender<Event>) {
        self.journal.lock().listeners.push(sender);
    }
}
