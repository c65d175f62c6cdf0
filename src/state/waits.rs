//! Blocked waits, and waking only those a pass concerned.
//!
//! Each wait says what it watches; a pass that changes the state notes what
//! it changed (only while some wait is blocked), and when it ends wakes the
//! waits that watch it: a SEND to `/queue/a` wakes a wait for messages on
//! `/queue/a`, not one for acks or for `/queue/b`. Each woken wait checks a
//! running count (O(1)), never a scan of the journal. A wait on an arbitrary
//! condition ([`Watch::Anything`]) is woken by every pass.

use std::sync::Arc;
use std::task::Waker;

use parking_lot::{Condvar, Mutex};

/// What a wait watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Watch {
    /// Every change (a condition the broker cannot see into).
    Anything,
    /// Messages published to one destination.
    Published(Arc<str>),
    /// ACKs and NACKs.
    Acks,
    /// Connections made and closed.
    Connections,
    /// Subscriptions made and ended.
    Subscriptions,
}

/// What the current pass changed, as far as waits care.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    published: Vec<Arc<str>>,
    acks: bool,
    connections: bool,
    subscriptions: bool,
}

impl Changes {
    pub(crate) fn published(&mut self, destination: &Arc<str>) {
        if !self.published.contains(destination) {
            self.published.push(destination.clone());
        }
    }

    pub(crate) fn acks(&mut self) {
        self.acks = true;
    }

    pub(crate) fn connections(&mut self) {
        self.connections = true;
    }

    pub(crate) fn subscriptions(&mut self) {
        self.subscriptions = true;
    }

    pub(crate) fn clear(&mut self) {
        self.published.clear();
        self.acks = false;
        self.connections = false;
        self.subscriptions = false;
    }

    fn concern(&self, watch: &Watch) -> bool {
        match watch {
            Watch::Anything => true,
            Watch::Published(destination) => self.published.contains(destination),
            Watch::Acks => self.acks,
            Watch::Connections => self.connections,
            // A connection that closes takes its subscriptions with it.
            Watch::Subscriptions => self.subscriptions || self.connections,
        }
    }
}

/// How a wait is woken: a blocked thread's condition variable (used with
/// the state's lock), or an async task's waker.
#[derive(Debug, Clone)]
pub(crate) enum Signal {
    Thread(Arc<Condvar>),
    Task(Arc<Mutex<Option<Waker>>>),
}

impl Signal {
    fn wake(&self) {
        match self {
            Signal::Thread(condvar) => {
                condvar.notify_one();
            }
            Signal::Task(waker) => {
                if let Some(waker) = waker.lock().take() {
                    waker.wake();
                }
            }
        }
    }
}

/// The waits blocked now, each with its own signal.
#[derive(Debug, Default)]
pub(crate) struct Waits {
    next: u64,
    blocked: Vec<(u64, Watch, Signal)>,
}

impl Waits {
    /// Registers a wait; [`Waits::remove`] with the number returned ends it.
    pub(crate) fn add(&mut self, watch: Watch) -> (u64, Arc<Condvar>) {
        let condvar = Arc::new(Condvar::new());
        let id = self.add_signal(watch, Signal::Thread(condvar.clone()));
        (id, condvar)
    }

    /// Registers a wait woken through `signal`.
    pub(crate) fn add_signal(&mut self, watch: Watch, signal: Signal) -> u64 {
        self.next += 1;
        self.blocked.push((self.next, watch, signal));
        self.next
    }

    pub(crate) fn remove(&mut self, id: u64) {
        self.blocked.retain(|(other, _, _)| *other != id);
    }

    /// Whether any wait is blocked (only then are changes noted).
    pub(crate) fn any(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// Wakes the waits `changes` concern; called at the end of a pass,
    /// under the lock, so no wait can miss it between its check and its
    /// sleep.
    pub(crate) fn wake(&self, changes: &Changes) {
        for (_, watch, signal) in &self.blocked {
            if changes.concern(watch) {
                signal.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_concerns_only_what_it_changed() {
        let mut changes = Changes::default();
        let a: Arc<str> = Arc::from("/queue/a");
        changes.published(&a);
        assert!(changes.concern(&Watch::Published(a.clone())));
        assert!(!changes.concern(&Watch::Published(Arc::from("/queue/b"))));
        assert!(!changes.concern(&Watch::Acks));
        assert!(changes.concern(&Watch::Anything));
        changes.acks();
        assert!(changes.concern(&Watch::Acks));
        assert!(!changes.concern(&Watch::Connections));
    }

    #[test]
    fn removed_waits_are_not_woken() {
        let mut waits = Waits::default();
        let (first, _) = waits.add(Watch::Acks);
        let (_, _) = waits.add(Watch::Anything);
        assert!(waits.any());
        waits.remove(first);
        assert_eq!(waits.blocked.len(), 1);
        assert_eq!(waits.blocked[0].1, Watch::Anything);
    }
}
