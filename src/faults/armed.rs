//! The faults a test has injected, as the connections consult them: each
//! rule with its counts and its random generator, and what it decides for
//! a frame (a verdict) or a connection. While none is armed, every check is
//! one atomic load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::rule::{Fault, Identity, Kind};
use crate::journal::{ConnectionId, Direction};
use crate::protocol::frame::{Command, Frame};

/// The most hits a fault remembers (its count goes on).
const KEPT_HITS: usize = 1_000;

/// The most hits the broker remembers, of every fault, removed ones too.
const LOGGED_HITS: usize = 10_000;

/// A small, fast, seedable generator (SplitMix64): enough to make a fault's
/// random choices replayable from its seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `1..=max`.
    pub(crate) fn piece(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max as u64) as usize
    }
}

/// One thing a fault did.
///
/// # Examples
/// ```
/// use stompbox::{Broker, Client, Fault, frame::Command, journal::Direction};
///
/// let broker = Broker::start()?;
/// let fault = broker.inject(Fault::drop().inbound(Command::Send));
/// let mut client = Client::connect(broker.addr())?;
/// client.send("/queue/a", "lost")?;
/// client.send_with_receipt("/queue/a", "kept")?;
/// let hit = &fault.hits()[0];
/// assert_eq!(hit.direction, Some(Direction::In));
/// assert_eq!(hit.command, Some(Command::Send));
/// assert_eq!(hit.destination.as_deref(), Some("/queue/a"));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultHit {
    /// Which fault ([`FaultHandle::id`](crate::FaultHandle::id)).
    pub fault: u64,
    /// When, from the broker's start.
    pub at: Duration,
    /// The connection it acted on.
    pub connection: ConnectionId,
    /// The frame's direction (`None` for a connection-wide fault).
    pub direction: Option<Direction>,
    /// The frame's command (`None` for a connection-wide fault).
    pub command: Option<Command>,
    /// The frame's `destination`, if it had one.
    pub destination: Option<String>,
    /// The frame's `message-id`, if it had one.
    pub message_id: Option<String>,
}

/// `on connection 2: -> MESSAGE /queue/a (message-id 7)`.
fn describe_hit(hit: &FaultHit) -> String {
    let mut out = format!("on connection {}", hit.connection);
    if let (Some(direction), Some(command)) = (hit.direction, &hit.command) {
        out.push_str(&format!(": {direction} {command}"));
    }
    if let Some(destination) = &hit.destination {
        out.push_str(&format!(" {destination}"));
    }
    if let Some(id) = &hit.message_id {
        out.push_str(&format!(" (message-id {id})"));
    }
    out
}

/// An injected rule and what it has done.
#[derive(Debug)]
pub(crate) struct Armed {
    pub(crate) id: u64,
    pub(crate) fault: Fault,
    /// The seed of its random choices.
    pub(crate) seed: u64,
    counts: Mutex<Counts>,
    /// Notified each time it acts.
    acted: Condvar,
    /// Where every fault's hits are logged, for the broker's reports.
    log: Arc<HitLog>,
}

/// Every fault's latest hits (a leaf lock: nothing is taken under it).
#[derive(Debug)]
pub(crate) struct HitLog {
    started: Instant,
    hits: Mutex<std::collections::VecDeque<(String, FaultHit)>>,
}

impl HitLog {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn push(&self, description: String, hit: FaultHit) {
        let mut hits = self.hits.lock();
        if hits.len() == LOGGED_HITS {
            hits.pop_front();
        }
        hits.push_back((description, hit));
    }
}

#[derive(Debug)]
struct Counts {
    /// Matches seen (frames, or connections for connection-wide kinds).
    seen: usize,
    fired: usize,
    rng: Rng,
    hits: Vec<FaultHit>,
    /// Connection-wide kinds: what was decided for each connection.
    decided: HashMap<ConnectionId, bool>,
}

impl Armed {
    /// How many times it acted.
    pub(crate) fn fired(&self) -> usize {
        self.counts.lock().fired
    }

    /// Waits until it has acted `count` times, or `timeout` passes; how
    /// many times it has.
    pub(crate) fn wait_fired(&self, count: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut counts = self.counts.lock();
        while counts.fired < count {
            if self.acted.wait_until(&mut counts, deadline).timed_out() {
                break;
            }
        }
        counts.fired
    }

    /// What it acted on (the latest [`KEPT_HITS`]).
    pub(crate) fn hits(&self) -> Vec<FaultHit> {
        self.counts.lock().hits.clone()
    }

    /// `fault 3 (close inbound SEND, once)`.
    pub(crate) fn describe(&self) -> String {
        format!("fault {} ({})", self.id, self.fault)
    }

    /// Counts a match and says whether to act on it.
    fn fire(&self, counts: &mut Counts, hit: FaultHit) -> bool {
        counts.seen += 1;
        if counts.seen <= self.fault.after {
            return false;
        }
        if self.fault.times.is_some_and(|times| counts.fired >= times) {
            return false;
        }
        if let Some(p) = self.fault.probability {
            if counts.rng.unit() >= p {
                return false;
            }
        }
        counts.fired += 1;
        let hit = FaultHit {
            fault: self.id,
            at: self.log.now(),
            ..hit
        };
        self.log.push(self.describe(), hit.clone());
        if counts.hits.len() == KEPT_HITS {
            counts.hits.remove(0);
        }
        counts.hits.push(hit);
        self.acted.notify_all();
        true
    }

    /// Whether this connection-wide rule acts on `who` (decided once per
    /// connection, when it can be told).
    fn holds(&self, who: &Identity) -> bool {
        let mut counts = self.counts.lock();
        if let Some(decided) = counts.decided.get(&who.connection) {
            return *decided;
        }
        let Some(matches) = self.fault.matches_connection(who) else {
            return false;
        };
        let decided = matches && {
            let hit = FaultHit {
                fault: self.id,
                at: Duration::ZERO,
                connection: who.connection,
                direction: None,
                command: None,
                destination: None,
                message_id: None,
            };
            self.fire(&mut counts, hit)
        };
        if counts.decided.len() >= 100_000 {
            counts.decided.retain(|_, holds| *holds);
        }
        counts.decided.insert(who.connection, decided);
        decided
    }
}

/// What the faults decided for a frame coming in.
#[derive(Debug, PartialEq)]
pub(crate) enum InboundVerdict {
    Pass,
    Drop,
    /// Answer with an ERROR with this message, then close.
    Error(String),
    /// Handle the frame, then close (with a reset, or not), for `fault`
    /// (described).
    CloseAfter {
        reset: bool,
        fault: String,
    },
}

/// What the faults decided for a frame going out; several may act at once.
#[derive(Debug, Default)]
pub(crate) struct OutboundVerdict {
    pub(crate) drop: bool,
    pub(crate) delay: Duration,
    pub(crate) duplicate: bool,
    /// Send an ERROR with this message instead, then close.
    pub(crate) error: Option<String>,
    /// Close after writing it (`true`: with a reset), for this fault
    /// (described).
    pub(crate) close: Option<(bool, String)>,
    /// Write it in random pieces of at most this many bytes.
    pub(crate) split: Option<(usize, Rng)>,
    pub(crate) throttle: Option<u64>,
    pub(crate) corrupt: bool,
}

impl OutboundVerdict {
    /// Whether the frame goes out as it would have.
    pub(crate) fn is_pass(&self) -> bool {
        !self.drop
            && self.delay.is_zero()
            && !self.duplicate
            && self.error.is_none()
            && self.close.is_none()
            && self.split.is_none()
            && self.throttle.is_none()
            && !self.corrupt
    }
}

/// Every injected fault.
#[derive(Debug)]
pub(crate) struct Injected {
    rules: RwLock<Vec<Arc<Armed>>>,
    /// Rules that act on frames coming in, going out, and on whole
    /// connections: the connections' fast checks.
    inbound: AtomicUsize,
    outbound: AtomicUsize,
    wide: AtomicUsize,
    next_id: AtomicU64,
    /// The broker's seed, from which each rule's is derived.
    seed: u64,
    log: Arc<HitLog>,
    /// Bumped when a rule goes (or the broker stops): wakes what a black
    /// hole or a delay holds.
    changed: Mutex<u64>,
    wakeup: Condvar,
}

impl Injected {
    pub(crate) fn new(seed: u64) -> Injected {
        Injected {
            rules: RwLock::new(Vec::new()),
            inbound: AtomicUsize::new(0),
            outbound: AtomicUsize::new(0),
            wide: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            seed,
            log: Arc::new(HitLog {
                started: Instant::now(),
                hits: Mutex::new(Default::default()),
            }),
            changed: Mutex::new(0),
            wakeup: Condvar::new(),
        }
    }

    /// The broker's seed.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether any fault was ever injected.
    pub(crate) fn ever_armed(&self) -> bool {
        self.next_id.load(Ordering::Relaxed) > 1
    }

    /// Every fault's latest hits, oldest first.
    pub(crate) fn hits(&self) -> Vec<FaultHit> {
        self.log
            .hits
            .lock()
            .iter()
            .map(|(_, hit)| hit.clone())
            .collect()
    }

    /// For failure reports: the seed, the faults armed, what they did.
    pub(crate) fn report(&self) -> String {
        let mut out = format!("faults (seed {}):\n", self.seed);
        for rule in self.snapshot() {
            let fired = rule.fired();
            out.push_str(&format!(
                "  {} armed, fired {fired} time(s)\n",
                rule.describe()
            ));
        }
        let hits = self.log.hits.lock();
        let shown = hits.len().min(20);
        if hits.len() > shown {
            out.push_str(&format!("  ... {} earlier hits\n", hits.len() - shown));
        }
        for (description, hit) in hits.iter().skip(hits.len() - shown) {
            out.push_str(&format!(
                "  {:>10.3?} {description}: {}\n",
                hit.at,
                describe_hit(hit)
            ));
        }
        out
    }

    /// Arms `fault`; it must have no [`Fault::problem`].
    pub(crate) fn arm(&self, fault: Fault) -> Arc<Armed> {
        debug_assert!(fault.problem().is_none());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let seed = fault
            .seed
            .unwrap_or_else(|| Rng::new(self.seed ^ id.rotate_left(32)).next_u64());
        let armed = Arc::new(Armed {
            id,
            seed,
            counts: Mutex::new(Counts {
                seen: 0,
                fired: 0,
                rng: Rng::new(seed),
                hits: Vec::new(),
                decided: HashMap::new(),
            }),
            acted: Condvar::new(),
            log: self.log.clone(),
            fault,
        });
        self.rules.write().push(armed.clone());
        for counter in self.counters(&armed.fault) {
            counter.fetch_add(1, Ordering::Release);
        }
        armed
    }

    /// Removes rule `id`; false if there was none.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let removed = {
            let mut rules = self.rules.write();
            let at = rules.iter().position(|r| r.id == id);
            at.map(|at| rules.remove(at))
        };
        let Some(removed) = removed else {
            return false;
        };
        for counter in self.counters(&removed.fault) {
            counter.fetch_sub(1, Ordering::Release);
        }
        self.wake_all();
        true
    }

    /// The rules as they stand, the lock let go at once: `who` (which may
    /// lock the broker's state) is never called under it.
    fn snapshot(&self) -> Vec<Arc<Armed>> {
        self.rules.read().clone()
    }

    fn counters(&self, fault: &Fault) -> Vec<&AtomicUsize> {
        if fault.kind.is_connection_wide() {
            return vec![&self.wide];
        }
        let inbound =
            fault.frames.is_empty() || fault.frames.iter().any(|(d, _)| *d == Direction::In);
        let outbound =
            fault.frames.is_empty() || fault.frames.iter().any(|(d, _)| *d == Direction::Out);
        let mut counters = Vec::new();
        if inbound && matches!(fault.kind, Kind::Drop | Kind::Error(_) | Kind::Close { .. }) {
            counters.push(&self.inbound);
        }
        if outbound {
            counters.push(&self.outbound);
        }
        counters
    }

    /// Whether any rule may act on frames coming in.
    pub(crate) fn acts_inbound(&self) -> bool {
        self.inbound.load(Ordering::Acquire) > 0
    }

    /// Whether any rule may act on frames going out.
    pub(crate) fn acts_outbound(&self) -> bool {
        self.outbound.load(Ordering::Acquire) > 0
    }

    /// Whether any rule acts on whole connections.
    pub(crate) fn acts_on_connections(&self) -> bool {
        self.wide.load(Ordering::Acquire) > 0
    }

    /// The rules (of frame kinds) that act on `frame` going `direction` on
    /// connection `conn` (whose names `who` looks up, when a rule needs
    /// them), each counted.
    fn firing<'a>(
        &self,
        rules: &'a [Arc<Armed>],
        direction: Direction,
        frame: &Frame,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
    ) -> Vec<&'a Arc<Armed>> {
        let bare = Identity {
            connection: conn,
            ..Identity::default()
        };
        let mut identity: Option<Identity> = None;
        let mut firing = Vec::new();
        for rule in rules {
            if rule.fault.kind.is_connection_wide() || !rule.fault.matches_frame(direction, frame) {
                continue;
            }
            let who = if rule.fault.names_someone() {
                identity.get_or_insert_with(&mut *who)
            } else {
                &bare
            };
            if rule.fault.matches_connection(who) != Some(true) {
                continue;
            }
            let hit = FaultHit {
                fault: rule.id,
                at: Duration::ZERO,
                connection: who.connection,
                direction: Some(direction),
                command: Some(frame.command().clone()),
                destination: frame.header("destination").map(str::to_owned),
                message_id: frame.header("message-id").map(str::to_owned),
            };
            if rule.fire(&mut rule.counts.lock(), hit) {
                firing.push(rule);
            }
        }
        firing
    }

    /// What happens to `frame`, coming in on the connection `who` tells of.
    pub(crate) fn inbound(
        &self,
        frame: &Frame,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
    ) -> InboundVerdict {
        let rules = self.snapshot();
        let mut verdict = InboundVerdict::Pass;
        for rule in self.firing(&rules, Direction::In, frame, conn, who) {
            // The gravest wins: an ERROR, then a drop, then a close.
            verdict = match (&rule.fault.kind, verdict) {
                (_, InboundVerdict::Error(m)) => InboundVerdict::Error(m),
                (Kind::Error(message), _) => InboundVerdict::Error(message.clone()),
                (_, InboundVerdict::Drop) | (Kind::Drop, _) => InboundVerdict::Drop,
                (Kind::Close { abort }, InboundVerdict::CloseAfter { reset, fault }) => {
                    InboundVerdict::CloseAfter {
                        reset: reset || *abort,
                        fault,
                    }
                }
                (Kind::Close { abort }, _) => InboundVerdict::CloseAfter {
                    reset: *abort,
                    fault: rule.describe(),
                },
                (_, verdict) => verdict,
            };
        }
        verdict
    }

    /// What happens to `frame`, going out on the connection `who` tells of.
    pub(crate) fn outbound(
        &self,
        frame: &Frame,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
    ) -> OutboundVerdict {
        let rules = self.snapshot();
        let mut verdict = OutboundVerdict::default();
        for rule in self.firing(&rules, Direction::Out, frame, conn, who) {
            match &rule.fault.kind {
                Kind::Drop => verdict.drop = true,
                Kind::Delay(by) => verdict.delay += *by,
                Kind::Jitter(min, max) => {
                    let span = max.saturating_sub(*min).as_secs_f64();
                    let unit = rule.counts.lock().rng.unit();
                    verdict.delay += *min + Duration::from_secs_f64(span * unit);
                }
                Kind::Duplicate => verdict.duplicate = true,
                Kind::Error(message) => verdict.error = Some(message.clone()),
                Kind::Close { abort } => {
                    let reset = verdict.close.as_ref().is_some_and(|(r, _)| *r) || *abort;
                    verdict.close = Some((reset, rule.describe()));
                }
                Kind::Split(max) => {
                    let rng = Rng::new(rule.counts.lock().rng.next_u64());
                    verdict.split = Some((*max, rng));
                }
                Kind::Throttle(rate) => verdict.throttle = Some(*rate),
                Kind::Corrupt => verdict.corrupt = true,
                Kind::StopHeartBeats | Kind::BlackHole => {}
            }
        }
        verdict
    }

    /// Whether a rule of `kind` (connection-wide) holds for `who`.
    fn wide(&self, kind: &Kind, conn: ConnectionId, who: &mut dyn FnMut() -> Identity) -> bool {
        if !self.acts_on_connections() {
            return false;
        }
        let rules = self.snapshot();
        let bare = Identity {
            connection: conn,
            ..Identity::default()
        };
        let mut identity: Option<Identity> = None;
        let mut holds = false;
        for rule in rules.iter().filter(|r| &r.fault.kind == kind) {
            let who = if rule.fault.names_someone() {
                identity.get_or_insert_with(&mut *who)
            } else {
                &bare
            };
            holds |= rule.holds(who);
        }
        holds
    }

    /// Whether the broker neither sends nor expects heart-beats on `who`.
    pub(crate) fn heart_beats_stopped(
        &self,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
    ) -> bool {
        self.wide(&Kind::StopHeartBeats, conn, who)
    }

    /// Whether the broker neither reads nor writes on `who`.
    pub(crate) fn black_holed(
        &self,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
    ) -> bool {
        self.wide(&Kind::BlackHole, conn, who)
    }

    /// Waits while `conn` is black-holed, or until `stop` says to give up.
    pub(crate) fn wait_out_black_hole(
        &self,
        conn: ConnectionId,
        who: &mut dyn FnMut() -> Identity,
        stop: &dyn Fn() -> bool,
    ) {
        while self.black_holed(conn, who) && !stop() {
            self.wait(Instant::now() + Duration::from_millis(100));
        }
    }

    /// Waits `by`, or less if `stop` says to give up (checked whenever a
    /// rule goes or the broker stops).
    pub(crate) fn sleep(&self, by: Duration, stop: &dyn Fn() -> bool) {
        let until = Instant::now() + by;
        while Instant::now() < until && !stop() {
            self.wait(until);
        }
    }

    /// Sleeps until `deadline` or the next [`Injected::wake_all`].
    fn wait(&self, deadline: Instant) {
        let mut changed = self.changed.lock();
        let seen = *changed;
        while *changed == seen {
            if self.wakeup.wait_until(&mut changed, deadline).timed_out() {
                return;
            }
        }
    }

    /// Wakes whatever a black hole or delay holds, to look again.
    pub(crate) fn wake_all(&self) {
        *self.changed.lock() += 1;
        self.wakeup.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anyone() -> Identity {
        Identity {
            connection: 1,
            connected: true,
            ..Identity::default()
        }
    }

    fn message(n: usize) -> Frame {
        Frame::new(Command::Message)
            .with_header("destination", "/queue/a")
            .with_header("message-id", n.to_string())
    }

    /// Which of `count` MESSAGEs the rule drops.
    fn dropped(fault: Fault, count: usize) -> Vec<usize> {
        let injected = Injected::new(7);
        injected.arm(fault);
        (0..count)
            .filter(|n| injected.outbound(&message(*n), 1, &mut anyone).drop)
            .collect()
    }

    #[test]
    fn counts_skip_then_act_the_times_asked() {
        assert_eq!(dropped(Fault::drop(), 4), [0], "once by default");
        assert_eq!(dropped(Fault::drop().after(2).times(1), 5), [2]);
        assert_eq!(dropped(Fault::drop().after(1).times(2), 5), [1, 2]);
        assert_eq!(dropped(Fault::drop().always(), 3), [0, 1, 2]);
        assert_eq!(dropped(Fault::drop().times(0), 3), Vec::<usize>::new());
    }

    #[test]
    fn a_probability_is_replayed_from_its_seed() {
        let fault = || Fault::drop().always().with_probability(0.3).seed(99);
        let first = dropped(fault(), 1_000);
        assert_eq!(first, dropped(fault(), 1_000), "same seed, same choices");
        assert!((200..400).contains(&first.len()), "{} of 1000", first.len());
        let other = dropped(
            Fault::drop().always().with_probability(0.3).seed(100),
            1_000,
        );
        assert_ne!(first, other);
    }

    #[test]
    fn the_fast_checks_follow_what_is_armed() {
        let injected = Injected::new(1);
        assert!(!injected.acts_inbound() && !injected.acts_outbound());
        let delay = injected.arm(Fault::delay(Duration::ZERO));
        assert!(!injected.acts_inbound() && injected.acts_outbound());
        let hole = injected.arm(Fault::black_hole());
        assert!(injected.acts_on_connections());
        assert!(injected.remove(delay.id) && injected.remove(hole.id));
        assert!(!injected.remove(hole.id), "already gone");
        assert!(!injected.acts_outbound() && !injected.acts_on_connections());
    }

    #[test]
    fn a_connection_wide_rule_decides_once_per_connection() {
        let injected = Injected::new(1);
        let rule = injected.arm(Fault::stop_heart_beats().times(1));
        let conn = |n| {
            move || Identity {
                connection: n,
                connected: true,
                ..Identity::default()
            }
        };
        assert!(injected.heart_beats_stopped(1, &mut conn(1)));
        assert!(injected.heart_beats_stopped(1, &mut conn(1)), "still");
        assert!(
            !injected.heart_beats_stopped(2, &mut conn(2)),
            "once: one connection"
        );
        assert_eq!(rule.fired(), 1);
    }

    #[test]
    fn an_inbound_error_outranks_a_drop_and_a_close() {
        let injected = Injected::new(1);
        injected.arm(Fault::close().always());
        let send = Frame::new(Command::Send).with_header("destination", "/q");
        assert_eq!(
            injected.inbound(&send, 1, &mut anyone),
            InboundVerdict::CloseAfter {
                reset: false,
                fault: "fault 1 (close, always)".into()
            }
        );
        injected.arm(Fault::drop().always());
        assert_eq!(
            injected.inbound(&send, 1, &mut anyone),
            InboundVerdict::Drop
        );
        injected.arm(Fault::error("no").always());
        assert_eq!(
            injected.inbound(&send, 1, &mut anyone),
            InboundVerdict::Error("no".into())
        );
    }
}
