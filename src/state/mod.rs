//! One broker's state, in one place, behind one lock.
//!
//! [`Journal`] holds the live state ([`live::Live`]: connections,
//! subscriptions, queues, pending deliveries, open transactions; the only
//! copy of each) and the history ([`history::History`]: what was published,
//! delivered, acked and refused, transcripts, closed connections). A frame
//! changes both in one pass under the one lock, and the pass wakes the
//! waits that watch what it changed ([`waits`]). [`BrokerState`] adds what every
//! thread of the broker shares around it: the configuration, users, grants,
//! armed failures and counters.
//!
//! Lock order: the state's lock, then (briefly) users, grants or faults;
//! never the reverse, and nothing holds the state's lock while it touches a
//! socket.

mod bounded;
pub(crate) mod clients;
pub(crate) mod history;
mod html_report;
mod ids;
mod kept;
pub(crate) mod live;
mod memory;
pub(crate) mod outbox;
mod report;
mod transcript;
mod view;
pub(crate) mod waits;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use crate::auth::Users;
use crate::config::Config;
use crate::faults::{Identity, Injected, Refusals};
use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::permissions::LivePermissions;
use crate::protocol::frame::Frame;

pub use view::Journal;
pub(crate) use waits::Watch;

/// The journal locked for changes; dropping it unlocks and wakes the waits.
pub(crate) struct Changing<'a> {
    journal: MutexGuard<'a, Journal>,
    /// The connection whose reader makes the changes (see `Live::flush`).
    own: Option<ConnectionId>,
}

impl std::ops::Deref for Changing<'_> {
    type Target = Journal;
    fn deref(&self) -> &Journal {
        &self.journal
    }
}

impl std::ops::DerefMut for Changing<'_> {
    fn deref_mut(&mut self) -> &mut Journal {
        &mut self.journal
    }
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        // What the pass queued goes to the writers now, one hand-over each.
        let journal = &mut *self.journal;
        journal.live.flush(&mut journal.history, self.own);
        // Woken under the lock: a wait between its check and its sleep
        // holds the lock, so it cannot miss this change.
        if journal.waits.any() {
            journal.waits.wake(&journal.history.changes);
            journal.history.changes.clear();
        }
    }
}

/// What every thread of one running broker shares.
pub(crate) struct BrokerState {
    pub(crate) config: Config,
    journal: Mutex<Journal>,
    /// Users, editable while the broker runs.
    pub(crate) users: Users,
    /// Grants, editable while the broker runs.
    pub(crate) permissions: LivePermissions,
    /// Refusals the test has armed.
    pub(crate) refusals: Refusals,
    /// Faults the test has injected.
    pub(crate) faults: Arc<Injected>,
    /// Client certificates the broker's CA issued, and to whom.
    pub(crate) issued_certificates: crate::tls::IssuedCertificates,
    shutting_down: AtomicBool,
    next_conn: AtomicU64,
    /// Shared with the live state, which makes dead letters.
    next_message: Arc<AtomicU64>,
}

impl BrokerState {
    pub(crate) fn new(config: Config) -> Arc<BrokerState> {
        let users = Users::default();
        for (login, passcode) in &config.users {
            users.insert(login.clone(), passcode.clone());
        }
        let next_message = Arc::new(AtomicU64::new(1));
        Arc::new(BrokerState {
            journal: Mutex::new(Journal::new(&config, next_message.clone())),
            users,
            permissions: LivePermissions::new(config.permissions.clone()),
            refusals: Refusals::default(),
            faults: Arc::new(Injected::new(config.seed)),
            issued_certificates: Default::default(),
            config,
            shutting_down: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_message,
        })
    }

    /// Locks the state for a series of changes; waits wake when it unlocks.
    pub(crate) fn lock(&self) -> Changing<'_> {
        self.lock_as(None)
    }

    /// Locks the state for the reader of connection `own`, which writes
    /// its own replies itself once the lock is released.
    pub(crate) fn lock_for(&self, own: ConnectionId) -> Changing<'_> {
        self.lock_as(Some(own))
    }

    fn lock_as(&self, own: Option<ConnectionId>) -> Changing<'_> {
        let mut journal = self.journal.lock();
        journal.history.tick();
        Changing { journal, own }
    }

    /// Changes the state and wakes every wait.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut Journal) -> R) -> R {
        change(&mut self.lock())
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&Journal) -> R) -> R {
        read(&self.journal.lock())
    }

    /// Blocks until `done` holds or `timeout` passes; re-checks whenever a
    /// pass changes what `watch` names (see [`waits`]).
    pub(crate) fn wait(
        &self,
        timeout: Duration,
        watch: Watch,
        mut done: impl FnMut(&Journal) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut journal = self.journal.lock();
        if done(&journal) {
            return true;
        }
        let (id, signal) = journal.waits.add(watch);
        journal.history.watched = true;
        let result = loop {
            if signal.wait_until(&mut journal, deadline).timed_out() {
                break done(&journal);
            }
            if done(&journal) {
                break true;
            }
        };
        journal.waits.remove(id);
        journal.history.watched = journal.waits.any();
        result
    }

    /// An async wait's step: `check` under the lock; if it gives nothing,
    /// the wait is registered (once) to be woken through `signal` by a pass
    /// that changes what `watch` names. Checking and registering under one
    /// lock, which passes wake under, means no change is missed in between.
    pub(crate) fn check_or_register<T>(
        &self,
        registered: &mut Option<u64>,
        watch: &Watch,
        signal: &waits::Signal,
        check: impl FnOnce(&Journal) -> Option<T>,
    ) -> Option<T> {
        let mut journal = self.journal.lock();
        if let Some(found) = check(&journal) {
            if let Some(id) = registered.take() {
                journal.waits.remove(id);
                journal.history.watched = journal.waits.any();
            }
            return Some(found);
        }
        if registered.is_none() {
            *registered = Some(journal.waits.add_signal(watch.clone(), signal.clone()));
            journal.history.watched = true;
        }
        None
    }

    /// Ends an async wait's registration.
    pub(crate) fn unregister(&self, id: u64) {
        let mut journal = self.journal.lock();
        journal.waits.remove(id);
        journal.history.watched = journal.waits.any();
    }

    /// Who connection `conn` is, for the faults' connection matchers
    /// (takes the lock: never call it holding the lock).
    pub(crate) fn identity(&self, conn: ConnectionId) -> Identity {
        self.read(|j| j.history.identity(conn))
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Marks the broker as stopping: no connection starts from now on.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// Aborts every open connection, which ends its threads.
    pub(crate) fn abort_all(&self) {
        self.read(|j| j.live.abort_all());
    }

    pub(crate) fn next_conn_id(&self) -> ConnectionId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh message id, unique within this broker.
    pub(crate) fn next_message_id(&self) -> u64 {
        self.next_message.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether a traffic observer is installed.
    pub(crate) fn observed(&self) -> bool {
        self.config.observer.is_some()
    }

    /// Tells the traffic observer, if there is one, about a frame (or a
    /// heart-beat, `None`) on connection `conn`.
    pub(crate) fn notify(&self, conn: ConnectionId, direction: Direction, frame: Option<&Frame>) {
        if let Some(observer) = &self.config.observer {
            observer(&crate::traffic::Traffic {
                connection: conn,
                direction,
                frame,
                closed: None,
            });
        }
    }

    /// Tells the traffic observer, if there is one, that connection `conn`
    /// closed for `reason`.
    pub(crate) fn notify_closed(&self, conn: ConnectionId, reason: &CloseReason) {
        if let Some(observer) = &self.config.observer {
            observer(&crate::traffic::Traffic {
                connection: conn,
                direction: Direction::In,
                frame: None,
                closed: Some(reason),
            });
        }
    }
}

pub(crate) use report::is_published;
