//! Refusals a test arranges in advance: refuse the next connections or
//! WebSocket upgrades, fail the next SEND to a destination.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Armed failures, consumed as they fire.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    connects: Mutex<VecDeque<String>>,
    /// HTTP statuses to refuse the next WebSocket upgrades with.
    upgrades: Mutex<VecDeque<u16>>,
    sends: Mutex<HashMap<String, VecDeque<String>>>,
    /// How many SEND failures are armed: while none is, a SEND takes no lock.
    armed_sends: AtomicUsize,
}

impl Refusals {
    /// The next `count` CONNECTs are refused with `reason`.
    pub(crate) fn fail_connects(&self, count: usize, reason: &str) {
        let mut connects = self.connects.lock();
        connects.extend(std::iter::repeat_n(reason.to_owned(), count));
    }

    /// The reason to refuse this CONNECT, if one is armed.
    pub(crate) fn take_connect(&self) -> Option<String> {
        self.connects.lock().pop_front()
    }

    /// The next `count` WebSocket upgrades are refused with `status`.
    pub(crate) fn fail_upgrades(&self, count: usize, status: u16) {
        self.upgrades
            .lock()
            .extend(std::iter::repeat_n(status, count));
    }

    /// The status to refuse this upgrade with, if one is armed.
    pub(crate) fn take_upgrade(&self) -> Option<u16> {
        self.upgrades.lock().pop_front()
    }

    /// The next SEND to `destination` fails with `message`.
    pub(crate) fn fail_send(&self, destination: &str, message: &str) {
        let mut sends = self.sends.lock();
        sends
            .entry(destination.to_owned())
            .or_default()
            .push_back(message.to_owned());
        self.armed_sends.fetch_add(1, Ordering::Release);
    }

    /// The message to fail this SEND with, if one is armed.
    pub(crate) fn take_send(&self, destination: &str) -> Option<String> {
        if self.armed_sends.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut sends = self.sends.lock();
        let queue = sends.get_mut(destination)?;
        let message = queue.pop_front();
        if queue.is_empty() {
            sends.remove(destination);
        }
        if message.is_some() {
            self.armed_sends.fetch_sub(1, Ordering::Release);
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_failures_fire_once_each() {
        let faults = Refusals::default();
        faults.fail_connects(2, "down");
        assert_eq!(faults.take_connect().as_deref(), Some("down"));
        assert_eq!(faults.take_connect().as_deref(), Some("down"));
        assert_eq!(faults.take_connect(), None);
        faults.fail_send("/queue/a", "full");
        assert_eq!(faults.take_send("/queue/b"), None);
        assert_eq!(faults.take_send("/queue/a").as_deref(), Some("full"));
        assert_eq!(faults.take_send("/queue/a"), None);
        faults.fail_upgrades(1, 503);
        assert_eq!(faults.take_upgrade(), Some(503));
        assert_eq!(faults.take_upgrade(), None);
    }
}
