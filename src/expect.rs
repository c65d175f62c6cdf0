//! Expectations: what a test declares up front and the broker checks when it
//! is dropped (or on [`Broker::verify`](crate::Broker::verify)), in the
//! manner of wiremock's mocks.

use std::fmt;
use std::ops::{Range, RangeFrom, RangeInclusive, RangeTo, RangeToInclusive};
use std::sync::Arc;
use std::time::Duration;

use crate::journal::{Journal, MessageStatus};
use crate::state::is_published;

/// How many times something must happen: exactly, at least, at most, or a
/// range. Made from a `usize` (exactly) or any range of `usize`.
///
/// # Examples
/// ```
/// use stompbox::Times;
///
/// assert!(Times::from(2).contains(2));
/// assert!(!Times::from(2..4).contains(4));
/// assert!(Times::from(1..).contains(1_000));
/// assert_eq!(Times::from(..=3).to_string(), "at most 3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Times {
    min: usize,
    max: Option<usize>,
}

impl Times {
    /// Whether `count` is allowed.
    ///
    /// # Examples
    /// See [`Times`].
    pub fn contains(&self, count: usize) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl From<usize> for Times {
    fn from(exactly: usize) -> Times {
        Times {
            min: exactly,
            max: Some(exactly),
        }
    }
}

impl From<Range<usize>> for Times {
    fn from(range: Range<usize>) -> Times {
        Times {
            min: range.start,
            max: Some(range.end.saturating_sub(1)),
        }
    }
}

impl From<RangeInclusive<usize>> for Times {
    fn from(range: RangeInclusive<usize>) -> Times {
        Times {
            min: *range.start(),
            max: Some(*range.end()),
        }
    }
}

impl From<RangeFrom<usize>> for Times {
    fn from(range: RangeFrom<usize>) -> Times {
        Times {
            min: range.start,
            max: None,
        }
    }
}

impl From<RangeTo<usize>> for Times {
    fn from(range: RangeTo<usize>) -> Times {
        Times {
            min: 0,
            max: Some(range.end.saturating_sub(1)),
        }
    }
}

impl From<RangeToInclusive<usize>> for Times {
    fn from(range: RangeToInclusive<usize>) -> Times {
        Times {
            min: 0,
            max: Some(range.end),
        }
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if min == max => write!(f, "exactly {min}"),
            (0, Some(max)) => write!(f, "at most {max}"),
            (min, None) => write!(f, "at least {min}"),
            (min, Some(max)) => write!(f, "between {min} and {max}"),
        }
    }
}

type Condition = Arc<dyn Fn(&Journal) -> bool + Send + Sync>;

#[derive(Clone)]
enum Check {
    Published { destination: String, times: Times },
    AllAcked,
    NoErrors,
    Resubscribed { client: String },
    NoDuplicates { header: String },
    HeartBeatsKept { tolerance: Duration },
    That(Condition),
}

/// Something the traffic must satisfy by the end of a test.
///
/// Register it with [`Broker::expect`](crate::Broker::expect) (checked when
/// the broker is dropped, or by [`Broker::verify`](crate::Broker::verify)) or
/// [`Broker::expect_scoped`](crate::Broker::expect_scoped) (checked when the
/// guard is dropped). An unmet expectation panics with its description and the
/// traffic the broker did see.
///
/// # Examples
/// ```
/// use stompbox::{Broker, Expectation};
///
/// let broker = Broker::start()?;
/// broker.expect(Expectation::published("/queue/orders").times(1));
/// broker.expect(Expectation::never_published("/queue/dead-letters"));
/// broker.expect(Expectation::no_errors());
///
/// broker.publish("/queue/orders", "the code under test would send this");
/// broker.verify(); // also checked when `broker` is dropped
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone)]
pub struct Expectation {
    name: Option<String>,
    check: Check,
    /// Only traffic from this time on counts (scoped expectations).
    since: Duration,
    /// Where the test registered it, for the report.
    declared_at: Option<&'static std::panic::Location<'static>>,
}

impl Expectation {
    /// Messages are published to `destination` (sent outside a transaction,
    /// committed, or injected): at least one, or as many as
    /// [`times`](Expectation::times) says.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.expect(stompbox::Expectation::published("/topic/prices").times(2..));
    /// broker.publish("/topic/prices", "1");
    /// broker.publish("/topic/prices", "2");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn published(destination: &str) -> Expectation {
        Expectation::new(Check::Published {
            destination: destination.to_owned(),
            times: Times::from(1..),
        })
    }

    /// Nothing is ever published to `destination`.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.expect(stompbox::Expectation::never_published("/queue/audit"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn never_published(destination: &str) -> Expectation {
        Expectation::published(destination).times(0)
    }

    /// Every message delivered to a client is acknowledged by the end (none
    /// left unacked, nacked without a later ACK, or put back on its queue
    /// because its consumer left without acking).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.expect(stompbox::Expectation::all_acked());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn all_acked() -> Expectation {
        Expectation::new(Check::AllAcked)
    }

    /// The broker sends no ERROR frame.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.expect(stompbox::Expectation::no_errors());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn no_errors() -> Expectation {
        Expectation::new(Check::NoErrors)
    }

    /// The client known as `client` (see
    /// [`ClientRecord`](crate::journal::ClientRecord)) reconnected, and after
    /// each reconnect subscribed again to every destination, with the same
    /// ack mode, that its connection before had.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client, Expectation};
    ///
    /// use std::time::Duration;
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::resubscribed("orders"));
    /// let app = || Client::builder().header("client-id", "orders").connect(broker.addr());
    /// let mut first = app()?;
    /// first.subscribe("/queue/orders", AckMode::Client)?;
    /// broker.wait_for_subscription("/queue/orders", Duration::from_secs(5))?;
    /// broker.kick(broker.connections()[0].id, None);
    /// let mut again = app()?; // the application's reconnect
    /// again.subscribe("/queue/orders", AckMode::Client)?;
    /// broker.wait_until(|j| j.resubscribed("orders").is_ok(), Duration::from_secs(5))?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn resubscribed(client: &str) -> Expectation {
        Expectation::new(Check::Resubscribed {
            client: client.to_owned(),
        })
    }

    /// No two published messages carry the same value of `header` (an
    /// idempotency key): for testing that retries do not publish twice.
    /// Messages without the header are not counted.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::no_duplicates("order-id"));
    /// broker.publish_with("/queue/orders", "1", &[("order-id", "A")]);
    /// broker.publish_with("/queue/orders", "2", &[("order-id", "B")]);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn no_duplicates(header: &str) -> Expectation {
        Expectation::new(Check::NoDuplicates {
            header: header.to_owned(),
        })
    }

    /// Every client that promised heart-beats kept the promise: never
    /// silent for longer than its interval plus `tolerance` (see
    /// [`HeartBeatRecord`](crate::journal::HeartBeatRecord)).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Client, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::heart_beats_kept(Duration::from_millis(200)));
    /// let mut client = Client::builder().heart_beat(100, 0).connect(broker.addr())?;
    /// client.send_with_receipt("/queue/a", "x")?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn heart_beats_kept(tolerance: Duration) -> Expectation {
        Expectation::new(Check::HeartBeatsKept { tolerance })
    }

    /// Any condition on the [`Journal`], described by `description`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::that("no more than 2 connections", |j| j.connections().count() <= 2));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn that(
        description: &str,
        condition: impl Fn(&Journal) -> bool + Send + Sync + 'static,
    ) -> Expectation {
        Expectation {
            name: Some(description.to_owned()),
            check: Check::That(Arc::new(condition)),
            since: Duration::ZERO,
            declared_at: None,
        }
    }

    /// How many messages [`published`](Expectation::published) expects: a
    /// number (exactly) or a range. Has no effect on other expectations.
    ///
    /// # Examples
    /// ```
    /// let exactly_three = stompbox::Expectation::published("/queue/a").times(3);
    /// let one_or_two = stompbox::Expectation::published("/queue/a").times(1..=2);
    /// ```
    pub fn times(mut self, times: impl Into<Times>) -> Expectation {
        if let Check::Published { times: t, .. } = &mut self.check {
            *t = times.into();
        }
        self
    }

    /// A name shown in the failure message, to tell expectations apart.
    ///
    /// # Examples
    /// ```
    /// let e = stompbox::Expectation::published("/queue/a").times(1).named("the order is forwarded");
    /// assert!(e.to_string().starts_with("the order is forwarded"));
    /// ```
    pub fn named(mut self, name: &str) -> Expectation {
        self.name = Some(name.to_owned());
        self
    }

    fn new(check: Check) -> Expectation {
        Expectation {
            name: None,
            check,
            since: Duration::ZERO,
            declared_at: None,
        }
    }

    /// Remembers where the test registered it (named in the report).
    pub(crate) fn declared_at(mut self, at: &'static std::panic::Location<'static>) -> Expectation {
        self.declared_at = Some(at);
        self
    }

    /// Counts only messages and errors from `since` (broker time) on.
    pub(crate) fn counting_from(mut self, since: Duration) -> Expectation {
        self.since = since;
        self
    }

    /// `Err(what was seen instead)` when the journal does not satisfy it.
    pub(crate) fn check(&self, journal: &Journal) -> Result<(), String> {
        match &self.check {
            Check::Published { destination, times } => {
                if !journal.is_recording() {
                    return Err("cannot be checked: recording is off".to_owned());
                }
                let count = journal
                    .published_to(destination)
                    .filter(|m| is_published(m.status) && m.at >= self.since)
                    .count();
                if times.contains(count) {
                    Ok(())
                } else {
                    Err(format!("{count} published"))
                }
            }
            Check::AllAcked => check_all_acked(journal),
            Check::NoErrors => {
                let errors: Vec<String> = journal
                    .errors_sent()
                    .filter(|e| e.at >= self.since)
                    .map(|e| format!("{:?} to connection {}", e.message, e.connection))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(format!("ERROR sent: {}", errors.join("; ")))
                }
            }
            Check::Resubscribed { client } => journal.resubscribed(client),
            Check::NoDuplicates { header } => check_no_duplicates(journal, header, self.since),
            Check::HeartBeatsKept { tolerance } => check_heart_beats(journal, *tolerance),
            Check::That(condition) => {
                if condition(journal) {
                    Ok(())
                } else {
                    Err("the condition does not hold".to_owned())
                }
            }
        }
    }
}

fn check_no_duplicates(journal: &Journal, header: &str, since: Duration) -> Result<(), String> {
    if !journal.is_recording() {
        return Err("cannot be checked: recording is off".to_owned());
    }
    let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
    for message in journal
        .published()
        .filter(|m| is_published(m.status) && m.at >= since)
    {
        if let Some(key) = message.headers.get(header) {
            seen.entry(key.to_owned())
                .or_default()
                .push(message.message_id.clone());
        }
    }
    let mut twice: Vec<String> = seen
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(key, ids)| format!("{header}:{key} in {}", ids.join(", ")))
        .collect();
    twice.sort();
    if twice.is_empty() {
        Ok(())
    } else {
        Err(format!("published more than once: {}", twice.join("; ")))
    }
}

fn check_heart_beats(journal: &Journal, tolerance: Duration) -> Result<(), String> {
    if !journal.is_recording() {
        return Err("cannot be checked: recording is off".to_owned());
    }
    let late: Vec<String> = journal
        .connections()
        .filter_map(|c| journal.heart_beats(c.id))
        .filter(|b| b.promised.is_some_and(|p| b.longest_gap > p + tolerance))
        .map(|b| b.to_string())
        .collect();
    if late.is_empty() {
        Ok(())
    } else {
        Err(late.join("; "))
    }
}

fn check_all_acked(journal: &Journal) -> Result<(), String> {
    let unsettled: Vec<String> = journal
        .subscriptions()
        .into_iter()
        .filter(|s| s.unacked > 0)
        .map(|s| {
            format!(
                "{} unacked on subscription {:?} of connection {}",
                s.unacked, s.id, s.connection
            )
        })
        .collect();
    if !unsettled.is_empty() {
        return Err(unsettled.join("; "));
    }
    if !journal.is_recording() {
        return Ok(());
    }
    let never_acked: Vec<String> = journal
        .published()
        .filter(|m| !m.deliveries.is_empty() && m.status != MessageStatus::Consumed)
        .map(|m| format!("{} ({})", m.message_id, m.status))
        .collect();
    if never_acked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "delivered and never acked: {}",
            never_acked.join(", ")
        ))
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            f.write_str(name)?;
            if matches!(self.check, Check::That(_)) {
                return Ok(());
            }
            f.write_str(": ")?;
        }
        match &self.check {
            Check::Published { destination, times } if times == &Times::from(0) => {
                write!(f, "nothing published to {destination}")
            }
            Check::Published { destination, times } => {
                write!(f, "{times} message(s) published to {destination}")
            }
            Check::AllAcked => f.write_str("every delivered message acked"),
            Check::NoErrors => f.write_str("no ERROR frame sent"),
            Check::Resubscribed { client } => {
                write!(f, "{client:?} reconnected and subscribed again")
            }
            Check::NoDuplicates { header } => {
                write!(f, "no two messages published with the same {header}")
            }
            Check::HeartBeatsKept { tolerance } => {
                write!(
                    f,
                    "every client's heart-beats on time (within {tolerance:?})"
                )
            }
            Check::That(_) => f.write_str("a condition on the journal"),
        }
    }
}

impl fmt::Debug for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expectation({self})")
    }
}

/// Why expectations were not met: each unmet one with what was found, and
/// what the broker saw. Its `Display` is the text a failed
/// [`Broker::verify`](crate::Broker::verify) panics with.
///
/// # Examples
/// ```
/// use stompbox::{Broker, Expectation};
///
/// let broker = Broker::start()?;
/// broker.publish("/queue/a", "x");
/// broker.expect(Expectation::never_published("/queue/a").named("quiet queue"));
/// let report = broker.check().unwrap_err();
/// assert_eq!(report.unmet[0].expectation, "quiet queue: nothing published to /queue/a");
/// assert_eq!(report.unmet[0].found, "1 published");
/// assert!(report.to_string().starts_with("1 of 1 stompbox expectation not met"));
/// broker.reset(); // so that the drop check passes
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    /// The expectations that were not met, in the order they were made.
    pub unmet: Vec<Unmet>,
    /// How many expectations were checked.
    pub checked: usize,
    /// What the broker saw, as a report for a person.
    pub saw: String,
}

/// One unmet expectation in a [`VerificationReport`].
///
/// # Examples
/// See [`VerificationReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    /// The expectation, as its `Display` reads (its name first, if named).
    pub expectation: String,
    /// What was found instead.
    pub found: String,
    /// Where the test made it (`file:line`), when made through
    /// [`Broker::expect`](crate::Broker::expect) or
    /// [`Broker::expect_scoped`](crate::Broker::expect_scoped).
    pub expected_at: Option<String>,
}

impl fmt::Display for VerificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} of {} stompbox expectation{} not met:",
            self.unmet.len(),
            self.checked,
            if self.checked == 1 { "" } else { "s" },
        )?;
        for unmet in &self.unmet {
            write!(f, "  - {}: {}", unmet.expectation, unmet.found)?;
            match &unmet.expected_at {
                Some(at) => writeln!(f, " (expected at {at})")?,
                None => writeln!(f)?,
            }
        }
        write!(f, "what the broker saw:\n{}", self.saw)
    }
}

impl std::error::Error for VerificationReport {}

/// The report of unmet expectations, or `None` when all hold.
pub(crate) fn failures(
    expectations: &[Expectation],
    journal: &Journal,
) -> Option<VerificationReport> {
    let unmet: Vec<Unmet> = expectations
        .iter()
        .filter_map(|e| {
            e.check(journal).err().map(|found| Unmet {
                expectation: e.to_string(),
                found,
                expected_at: e
                    .declared_at
                    .map(|at| format!("{}:{}", at.file(), at.line())),
            })
        })
        .collect();
    if unmet.is_empty() {
        return None;
    }
    Some(VerificationReport {
        unmet,
        checked: expectations.len(),
        saw: journal.summary(),
    })
}
