//! Permissions: which principal may publish (PUB) or subscribe (SUB) to
//! which topic.
//!
//! A destination maps to its topic by a [`TopicMapping`] (the whole
//! destination by default; its first path segment for RocketMQ). Grants name a
//! topic pattern in which `*` matches any run of characters. Permissions are
//! checked only once enforcement is on (any grant on the builder,
//! [`BrokerBuilder::enforce_permissions`](crate::BrokerBuilder::enforce_permissions),
//! or the RocketMQ profile).

use std::fmt;
use std::ops::BitOr;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

/// PUB, SUB, or both.
///
/// # Examples
/// ```
/// use stompbox::auth::Access;
/// let both = Access::PUB | Access::SUB;
/// assert!(both.allows(Access::SUB));
/// assert!(!Access::PUB.allows(Access::SUB));
/// assert_eq!(both.to_string(), "PUB+SUB");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    publish: bool,
    subscribe: bool,
}

impl Access {
    /// May SEND. See [`Access`] for an example.
    pub const PUB: Access = Access {
        publish: true,
        subscribe: false,
    };
    /// May SUBSCRIBE and UNSUBSCRIBE. See [`Access`] for an example.
    pub const SUB: Access = Access {
        publish: false,
        subscribe: true,
    };
    /// Both. See [`Access`] for an example.
    pub const PUB_SUB: Access = Access {
        publish: true,
        subscribe: true,
    };
    /// Neither. See [`Access`] for an example.
    pub const NONE: Access = Access {
        publish: false,
        subscribe: false,
    };

    /// Whether this includes everything `needed` asks for.
    ///
    /// # Examples
    /// See [`Access`].
    pub fn allows(self, needed: Access) -> bool {
        (self.publish || !needed.publish) && (self.subscribe || !needed.subscribe)
    }

    fn without(self, removed: Access) -> Access {
        Access {
            publish: self.publish && !removed.publish,
            subscribe: self.subscribe && !removed.subscribe,
        }
    }
}

impl BitOr for Access {
    type Output = Access;
    fn bitor(self, other: Access) -> Access {
        Access {
            publish: self.publish || other.publish,
            subscribe: self.subscribe || other.subscribe,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.publish, self.subscribe) {
            (true, true) => "PUB+SUB",
            (true, false) => "PUB",
            (false, true) => "SUB",
            (false, false) => "nothing",
        })
    }
}

/// How a destination names the topic its permissions are granted on.
///
/// # Examples
/// ```
/// use stompbox::auth::TopicMapping;
/// assert_eq!(TopicMapping::WholeDestination.topic_of("/queue/a"), "/queue/a");
/// assert_eq!(TopicMapping::FirstSegment.topic_of("/orders/eu/1"), "orders");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicMapping {
    /// The topic is the destination itself.
    #[default]
    WholeDestination,
    /// The topic is the first path segment: `/t/t1` is topic `t` (RocketMQ).
    FirstSegment,
}

impl TopicMapping {
    /// The topic of `destination`.
    ///
    /// # Examples
    /// See [`TopicMapping`].
    pub fn topic_of<'a>(&self, destination: &'a str) -> &'a str {
        match self {
            TopicMapping::WholeDestination => destination,
            TopicMapping::FirstSegment => {
                let rest = destination.strip_prefix('/').unwrap_or(destination);
                rest.split('/').next().unwrap_or_default()
            }
        }
    }
}

/// Who may do what: (principal, topic pattern, access), in the order granted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Grants(Vec<(String, String, Access)>);

impl Grants {
    /// Adds `access` on topics matching `pattern` for `principal`.
    pub(crate) fn grant(&mut self, principal: &str, pattern: &str, access: Access) {
        match self
            .0
            .iter_mut()
            .find(|(p, t, _)| p == principal && t == pattern)
        {
            Some((_, _, existing)) => *existing = *existing | access,
            None => self
                .0
                .push((principal.to_owned(), pattern.to_owned(), access)),
        }
    }

    /// Takes `access` away from the grants of `principal` on `pattern`.
    pub(crate) fn revoke(&mut self, principal: &str, pattern: &str, access: Access) {
        for (p, t, existing) in &mut self.0 {
            if p == principal && t == pattern {
                *existing = existing.without(access);
            }
        }
    }

    /// Everything `principal` may do on `topic`.
    fn access(&self, principal: &str, topic: &str) -> Access {
        self.0
            .iter()
            .filter(|(p, pattern, _)| p == principal && matches(pattern, topic))
            .fold(Access::NONE, |all, (_, _, access)| all | *access)
    }
}

/// The permission settings a builder collects.
#[derive(Clone, Debug, Default)]
pub(crate) struct Permissions {
    pub(crate) enforced: bool,
    pub(crate) mapping: TopicMapping,
    pub(crate) grants: Grants,
}

/// Why an operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Denial {
    pub(crate) principal: String,
    pub(crate) topic: String,
    pub(crate) needed: Access,
}

/// The permissions of a running broker, checked on every SEND, SUBSCRIBE
/// and UNSUBSCRIBE and changed by the test. While checks are off (the
/// default) a check is one atomic load, with no lock taken.
#[derive(Debug)]
pub(crate) struct LivePermissions {
    enforced: AtomicBool,
    mapping: TopicMapping,
    grants: RwLock<Grants>,
}

impl LivePermissions {
    pub(crate) fn new(settings: Permissions) -> LivePermissions {
        LivePermissions {
            enforced: AtomicBool::new(settings.enforced),
            mapping: settings.mapping,
            grants: RwLock::new(settings.grants),
        }
    }

    /// Whether checks are on.
    pub(crate) fn enforced(&self) -> bool {
        self.enforced.load(Ordering::Acquire)
    }

    /// Grants `access`, and turns checks on.
    pub(crate) fn grant(&self, principal: &str, pattern: &str, access: Access) {
        self.grants.write().grant(principal, pattern, access);
        self.enforced.store(true, Ordering::Release);
    }

    /// Takes `access` away from `principal`'s grant on `pattern`.
    pub(crate) fn revoke(&self, principal: &str, pattern: &str, access: Access) {
        self.grants.write().revoke(principal, pattern, access);
    }

    /// `Ok` if `principal` may do what `needed` says on `destination`.
    pub(crate) fn check(
        &self,
        principal: &str,
        destination: &str,
        needed: Access,
    ) -> Result<(), Denial> {
        if !self.enforced() {
            return Ok(());
        }
        let topic = self.mapping.topic_of(destination);
        if self.grants.read().access(principal, topic).allows(needed) {
            Ok(())
        } else {
            Err(Denial {
                principal: principal.to_owned(),
                topic: topic.to_owned(),
                needed,
            })
        }
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters (none included).
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars() {
        assert!(matches("orders", "orders"));
        assert!(!matches("orders", "orders2"));
        assert!(matches("*", ""));
        assert!(matches("orders.*", "orders.eu"));
        assert!(!matches("orders.*", "order.eu"));
        assert!(matches("*-in", "payments-in"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-c"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn grants_add_up_and_revokes_take_away() {
        let p = LivePermissions::new(Permissions::default());
        p.grant("alice", "orders", Access::PUB);
        p.grant("alice", "orders", Access::SUB);
        assert!(p.check("alice", "orders", Access::PUB_SUB).is_ok());
        p.revoke("alice", "orders", Access::PUB);
        let denial = p.check("alice", "orders", Access::PUB).unwrap_err();
        assert_eq!(denial.topic, "orders");
        assert!(p.check("alice", "orders", Access::SUB).is_ok());
        assert!(p.check("bob", "orders", Access::SUB).is_err());
    }

    #[test]
    fn nothing_is_checked_until_enforced() {
        let p = LivePermissions::new(Permissions::default());
        assert!(!p.enforced());
        assert!(p.check("anyone", "/queue/a", Access::PUB).is_ok());
        let on = LivePermissions::new(Permissions {
            enforced: true,
            ..Permissions::default()
        });
        assert!(on.check("anyone", "/queue/a", Access::PUB).is_err());
    }
}
