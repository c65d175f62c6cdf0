//! One connection's transcript: its frames in and out, bounded.
//!
//! Kept in the broker's state and written under its lock, in the same pass
//! that handles the frame: an incoming frame when the session takes it, an
//! outgoing one when it is queued for the connection's writer.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::time::Duration;

use super::ids::IdHasher;

use crate::journal::{Direction, FrameRecord};
use crate::protocol::frame::{Command, Frame, Headers};
use crate::protocol::message::{Delivery, IfUnsent, StoredMessage, message_id_text};

/// What an entry costs besides what its item holds (the entry itself and
/// its place in the list), near enough.
const ENTRY: usize = 48;

/// What a SEND or MESSAGE entry is weighed at: the message itself is
/// weighed with its published record.
const MESSAGE_ENTRY: usize = 160;

/// An entry as kept: 48 bytes (checked below, 128 before), so that the
/// oldest entries, long out of the cache when they go, are fewer lines to
/// read, and a message's entry holds no reference count (its names' slot
/// is counted in [`Names`], this transcript's own).
#[derive(Debug)]
struct TranscriptEntry {
    /// Nanoseconds from the broker's start.
    at: u64,
    /// What the entry holds, kept so that letting the oldest entry go does
    /// not read its frame again.
    weight: u32,
    direction: Direction,
    item: Kept,
}

const _: () = assert!(std::mem::size_of::<TranscriptEntry>() <= 48);

/// What an entry holds: frames the broker made itself are rendered only
/// when read, and a message is named by its journal `seq`, not held or
/// counted (its published record holds it, bounded); once the journal lets
/// go of it, the entry shows only what the broker knows without it.
#[derive(Debug)]
enum Kept {
    Frame(Box<Frame>),
    /// A SEND received: `names` is its destination's slot.
    Send {
        seq: u64,
        id: u64,
        names: u32,
    },
    /// A MESSAGE queued for the writer: `names` is its subscription's and
    /// destination's slot.
    Delivery {
        seq: u64,
        id: u64,
        tag: Tag,
        names: u32,
    },
    HeartBeat,
    Pending,
}

/// What is written into a transcript: a frame, or a message named by what
/// the broker already holds (nothing is cloned unless the transcript keeps
/// a name it did not have).
#[derive(Debug)]
pub(crate) enum TranscriptItem<'a> {
    Frame(Frame),
    /// A SEND received.
    Send(&'a StoredMessage),
    /// A MESSAGE queued for the connection's writer, and its
    /// subscription's id as the broker's state holds it.
    Delivery(&'a Delivery, &'a Arc<str>),
    HeartBeat,
    /// The place of an incoming frame still being handled.
    Pending,
}

/// A MESSAGE's `ack` tag and `redelivered` flag in one word.
#[derive(Clone, Copy, Debug)]
struct Tag(u64);

impl Tag {
    /// The top bit: `redelivered`.
    const REDELIVERED: u64 = 1 << 63;
    /// The tag without the flag when the delivery has no `ack` header.
    const NO_ACK: u64 = Self::REDELIVERED - 1;

    fn of(delivery: &Delivery) -> Tag {
        // Tags count up from 1 per connection: they never reach the flag.
        let ack = delivery
            .ack
            .map_or(Self::NO_ACK, |t| t.min(Self::NO_ACK - 1));
        let flag = if delivery.redelivered {
            Self::REDELIVERED
        } else {
            0
        };
        Tag(ack | flag)
    }

    fn ack(self) -> Option<u64> {
        let tag = self.0 & !Self::REDELIVERED;
        (tag != Self::NO_ACK).then_some(tag)
    }

    fn redelivered(self) -> bool {
        self.0 & Self::REDELIVERED != 0
    }
}

/// The names a transcript's message entries use, each (subscription,
/// destination) pair in one counted slot: an entry holds the slot's
/// number, and letting it go changes this transcript's count instead of
/// two atomic reference counts. A slot goes once no entry uses it, so there
/// are never more slots than entries.
#[derive(Debug, Default)]
struct Names {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Slots by the addresses of their names (the slot holds both, so an
    /// address cannot be reused while its slot is there).
    index: HashMap<(u64, u64), u32, BuildHasherDefault<IdHasher>>,
    /// The slot used last: a connection's messages mostly share one.
    last: Option<u32>,
}

#[derive(Debug)]
struct Slot {
    subscription: Option<Arc<str>>,
    destination: Arc<str>,
    uses: u32,
}

fn address(name: Option<&Arc<str>>) -> u64 {
    name.map_or(0, |n| Arc::as_ptr(n).cast::<u8>() as usize as u64)
}

impl Names {
    /// The slot for this pair, counted once more.
    fn take(&mut self, subscription: Option<&Arc<str>>, destination: &Arc<str>) -> u32 {
        let key = (address(subscription), address(Some(destination)));
        if let Some(last) = self.last
            && let Some(slot) = self.slot_mut(last)
            && slot.key() == key
        {
            slot.uses += 1;
            return last;
        }
        let found = self.index.get(&key).copied();
        let number = match found.and_then(|n| Some((n, self.slot_mut(n)?))) {
            Some((number, slot)) => {
                slot.uses += 1;
                number
            }
            None => self.add(key, subscription, destination),
        };
        self.last = Some(number);
        number
    }

    fn add(
        &mut self,
        key: (u64, u64),
        subscription: Option<&Arc<str>>,
        destination: &Arc<str>,
    ) -> u32 {
        let slot = Slot {
            subscription: subscription.cloned(),
            destination: destination.clone(),
            uses: 1,
        };
        let number = match self.free.pop() {
            Some(number) => {
                self.slots[number as usize] = Some(slot);
                number
            }
            None => {
                // Never more slots than entries: `u32::MAX` of them would
                // be 192 GB of entries. Past it, entries would show another
                // slot's names, not panic.
                let number = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(slot));
                number
            }
        };
        self.index.insert(key, number);
        number
    }

    /// One use of slot `number` fewer; the slot goes with its last.
    fn give_back(&mut self, number: u32) {
        let Some(slot) = self.slot_mut(number) else {
            return;
        };
        slot.uses -= 1;
        if slot.uses > 0 {
            return;
        }
        let key = slot.key();
        self.slots[number as usize] = None;
        self.index.remove(&key);
        self.free.push(number);
        if self.last == Some(number) {
            self.last = None;
        }
    }

    fn get(&self, number: u32) -> Option<&Slot> {
        self.slots.get(number as usize)?.as_ref()
    }

    fn slot_mut(&mut self, number: u32) -> Option<&mut Slot> {
        self.slots.get_mut(number as usize)?.as_mut()
    }

    fn clear(&mut self) {
        *self = Names::default();
    }
}

impl Slot {
    fn key(&self) -> (u64, u64) {
        (
            address(self.subscription.as_ref()),
            address(Some(&self.destination)),
        )
    }
}

impl Kept {
    fn of(item: TranscriptItem<'_>, names: &mut Names) -> Kept {
        match item {
            TranscriptItem::Frame(frame) => Kept::Frame(Box::new(frame)),
            TranscriptItem::Send(message) => Kept::Send {
                seq: message.journal_seq,
                id: message.id,
                names: names.take(None, &message.destination),
            },
            TranscriptItem::Delivery(delivery, subscription) => Kept::Delivery {
                seq: delivery.message.journal_seq,
                id: delivery.message.id,
                tag: Tag::of(delivery),
                names: names.take(Some(subscription), &delivery.message.destination),
            },
            TranscriptItem::HeartBeat => Kept::HeartBeat,
            TranscriptItem::Pending => Kept::Pending,
        }
    }

    /// The names slot this entry uses, if any.
    fn names(&self) -> Option<u32> {
        match self {
            Kept::Send { names, .. } | Kept::Delivery { names, .. } => Some(*names),
            _ => None,
        }
    }

    /// The frame (`None`: a heart-beat), and whether its message had been
    /// let go by the journal (`messages` finds a kept one by its seq).
    fn render(
        &self,
        names: &Names,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> (Option<Frame>, bool) {
        let kept = |seq: u64, id: u64| messages(seq).filter(|m| m.id == id);
        match self {
            Kept::Frame(frame) => (Some((**frame).clone()), false),
            Kept::Send { seq, id, names: n } => match kept(*seq, *id) {
                Some(message) => (Some(message.send_frame()), false),
                None => {
                    let mut headers = Headers::new();
                    let destination = names.get(*n).map_or("", |slot| &slot.destination);
                    headers.push("destination", destination);
                    let frame = Frame::from_parts(Command::Send, headers, Default::default());
                    (Some(frame), true)
                }
            },
            Kept::Delivery {
                seq,
                id,
                tag,
                names: n,
            } => {
                let slot = names.get(*n);
                let subscription = slot
                    .and_then(|slot| slot.subscription.clone())
                    .unwrap_or_default();
                let destination = slot.map_or("", |slot| &slot.destination);
                match kept(*seq, *id) {
                    Some(message) => {
                        let delivery = Delivery {
                            message,
                            subscription,
                            ack: tag.ack(),
                            redelivered: tag.redelivered(),
                            if_unsent: IfUnsent::Nothing,
                            shared: None,
                        };
                        (Some(delivery.to_frame()), false)
                    }
                    None => (
                        Some(evicted_message_frame(*id, &subscription, *tag, destination)),
                        true,
                    ),
                }
            }
            Kept::HeartBeat | Kept::Pending => (None, false),
        }
    }

    /// What the entry holds: a frame's bytes; a message is weighed with its
    /// published record.
    fn weight(&self) -> u32 {
        let own = match self {
            Kept::Frame(frame) => frame.size(),
            Kept::Send { .. } | Kept::Delivery { .. } => MESSAGE_ENTRY,
            Kept::HeartBeat | Kept::Pending => 0,
        };
        u32::try_from(ENTRY + own).unwrap_or(u32::MAX)
    }
}

/// A MESSAGE whose message the journal let go: the broker's own headers.
fn evicted_message_frame(id: u64, subscription: &str, tag: Tag, destination: &str) -> Frame {
    let mut headers = Headers::new();
    headers.push("message-id", message_id_text(id));
    headers.push("subscription", subscription);
    if let Some(ack) = tag.ack() {
        headers.push("ack", ack.to_string());
    }
    if tag.redelivered() {
        headers.push("redelivered", "true");
    }
    headers.push("destination", destination);
    Frame::from_parts(Command::Message, headers, Default::default())
}

/// One connection's frames in and out.
#[derive(Debug)]
pub(crate) struct Transcript {
    entries: VecDeque<TranscriptEntry>,
    limit: usize,
    /// How many entries were dropped from the front (so a position stays
    /// valid while newer entries arrive).
    dropped: u64,
    /// What the entries hold (see [`Kept::weight`]).
    bytes: usize,
    names: Names,
}

impl Transcript {
    pub(crate) fn new(limit: usize) -> Transcript {
        Transcript {
            entries: VecDeque::new(),
            limit,
            dropped: 0,
            bytes: 0,
            names: Names::default(),
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
        if self.entries.len() >= self.limit.saturating_add(self.slack()) {
            // Down to one below the limit at once: the oldest entries are
            // long out of the cache, and read one after another they are
            // fetched together instead of one stall per frame.
            while self.entries.len() >= self.limit && self.drop_oldest() {}
        }
        // With a limit of 0 nothing is kept, and the place is never found.
        let position = self.dropped + self.entries.len() as u64;
        if self.limit > 0 {
            let item = Kept::of(entry, &mut self.names);
            let weight = item.weight();
            self.bytes += weight as usize;
            self.entries.push_back(TranscriptEntry {
                at: u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
                direction,
                weight,
                item,
            });
        }
        position
    }

    /// Puts `entry` in place of the one at `position` (a placeholder), if it
    /// is still kept.
    pub(crate) fn fill(&mut self, position: u64, entry: TranscriptItem<'_>) {
        let Some(index) = position.checked_sub(self.dropped) else {
            return;
        };
        if let Some(kept) = usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            let item = Kept::of(entry, &mut self.names);
            let weight = item.weight();
            self.bytes = self.bytes - kept.weight as usize + weight as usize;
            kept.weight = weight;
            if let Some(names) = std::mem::replace(&mut kept.item, item).names() {
                self.names.give_back(names);
            }
        }
    }

    /// Lets the oldest entry go (for the count limit or the journal's byte
    /// bound); false if there was none.
    pub(crate) fn drop_oldest(&mut self) -> bool {
        let Some(oldest) = self.entries.pop_front() else {
            return false;
        };
        self.dropped += 1;
        self.bytes -= oldest.weight as usize;
        if let Some(names) = oldest.item.names() {
            self.names.give_back(names);
        }
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
        self.last(self.len(), messages)
    }

    /// The last `count` entries, oldest first (a place still being filled
    /// left out).
    pub(crate) fn last(
        &self,
        count: usize,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> Vec<FrameRecord> {
        let skip = self.entries.len() - self.len().min(count);
        self.entries
            .iter()
            .skip(skip)
            .filter(|e| !matches!(e.item, Kept::Pending))
            .map(|e| {
                let (frame, message_evicted) = e.item.render(&self.names, messages);
                FrameRecord {
                    at: Duration::from_nanos(e.at),
                    direction: e.direction,
                    frame,
                    message_evicted,
                }
            })
            .collect()
    }

    /// The entries shown: the last `limit`.
    pub(crate) fn len(&self) -> usize {
        self.entries.len().min(self.limit)
    }

    /// How many entries past the limit are kept, out of sight, before the
    /// oldest go together.
    fn slack(&self) -> usize {
        self.limit / 8
    }

    pub(crate) fn clear(&mut self) {
        self.dropped += self.entries.len() as u64;
        self.entries.clear();
        self.bytes = 0;
        self.names.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rstest::rstest;

    fn delivery(ack: Option<u64>, redelivered: bool) -> Delivery {
        let mut headers = Headers::new();
        headers.push("destination", "/queue/a");
        let message =
            StoredMessage::from_send(9, 3, Arc::from("/queue/a"), headers, Bytes::new(), None);
        Delivery {
            message: Arc::new(message),
            subscription: Arc::from("s-1"),
            ack,
            redelivered,
            if_unsent: IfUnsent::Nothing,
            shared: None,
        }
    }

    #[rstest]
    #[case::auto(None, false)]
    #[case::auto_redelivered(None, true)]
    #[case::client(Some(0), false)]
    #[case::client_redelivered(Some(12), true)]
    fn a_delivery_renders_its_own_headers_kept_or_evicted(
        #[case] ack: Option<u64>,
        #[case] redelivered: bool,
    ) {
        let delivery = delivery(ack, redelivered);
        let mut transcript = Transcript::new(4);
        let item = TranscriptItem::Delivery(&delivery, &delivery.subscription);
        transcript.push(Duration::ZERO, Direction::Out, item);
        let kept = delivery.message.clone();
        let records = transcript.render(&|seq| (seq == 3).then(|| kept.clone()));
        let record = &records[0];
        let expected = Some(delivery.to_frame());
        assert_eq!((&record.frame, record.message_evicted), (&expected, false));

        let records = transcript.render(&|_| None);
        let frame = records[0].frame.clone().expect("a MESSAGE");
        assert!(records[0].message_evicted);
        assert_eq!(
            frame.headers().get("message-id"),
            Some(&*message_id_text(9))
        );
        assert_eq!(frame.headers().get("subscription"), Some("s-1"));
        assert_eq!(
            frame.headers().get("ack").map(str::to_owned),
            ack.map(|t| t.to_string())
        );
        assert_eq!(frame.headers().get("redelivered").is_some(), redelivered);
        assert_eq!(frame.headers().get("destination"), Some("/queue/a"));
    }

    #[test]
    fn a_name_is_held_while_an_entry_uses_it_and_let_go_with_the_last() {
        let mut transcript = Transcript::new(2);
        let first = delivery(Some(1), false);
        let destination = first.message.destination.clone();
        let subscription = first.subscription.clone();
        let entry = || TranscriptItem::Delivery(&first, &subscription);
        transcript.push(Duration::ZERO, Direction::Out, entry());
        transcript.push(Duration::ZERO, Direction::Out, entry());
        // The test's copy, the message's, the delivery's and one slot's.
        assert_eq!(Arc::strong_count(&destination), 3);
        assert_eq!(Arc::strong_count(&subscription), 3);

        let mut headers = Headers::new();
        headers.push("destination", "/queue/b");
        let other = Arc::new(StoredMessage::from_send(
            10,
            4,
            Arc::from("/queue/b"),
            headers,
            Bytes::new(),
            None,
        ));
        transcript.push(Duration::ZERO, Direction::In, TranscriptItem::Send(&other));
        assert_eq!(
            Arc::strong_count(&destination),
            3,
            "one entry still uses it"
        );
        transcript.push(Duration::ZERO, Direction::In, TranscriptItem::Send(&other));
        assert_eq!(Arc::strong_count(&destination), 2, "no entry uses it");
        assert_eq!(Arc::strong_count(&subscription), 2);
        let records = transcript.render(&|_| None);
        let destinations: Vec<_> = records
            .iter()
            .map(|r| {
                r.frame
                    .as_ref()
                    .and_then(|f| f.headers().get("destination"))
            })
            .collect();
        assert_eq!(destinations, [Some("/queue/b"), Some("/queue/b")]);
        assert_eq!(transcript.names.slots.len(), 2);
        let again = Arc::from("s-2");
        transcript.push(
            Duration::ZERO,
            Direction::Out,
            TranscriptItem::Delivery(&first, &again),
        );
        assert_eq!(
            transcript.names.slots.len(),
            2,
            "the freed slot is used again"
        );
    }

    #[test]
    fn the_last_limit_entries_show_while_the_oldest_go_in_batches() {
        let mut transcript = Transcript::new(16);
        let mut most = 0;
        for n in 0..100_usize {
            let mut frame = Frame::new(Command::Send);
            frame.headers_mut().push("n", n.to_string());
            transcript.push(Duration::ZERO, Direction::In, TranscriptItem::Frame(frame));
            most = most.max(transcript.entries.len());
            let shown: Vec<usize> = transcript
                .render(&|_| None)
                .iter()
                .map(|r| {
                    r.frame
                        .as_ref()
                        .unwrap()
                        .headers()
                        .get("n")
                        .unwrap()
                        .parse()
                        .unwrap()
                })
                .collect();
            let first = (n + 1).saturating_sub(16);
            assert_eq!(shown, (first..=n).collect::<Vec<_>>(), "after frame {n}");
            assert_eq!(transcript.len(), shown.len());
        }
        assert_eq!(most, 16 + 2, "kept out of sight: an eighth of the limit");
        let weights: usize = transcript.entries.iter().map(|e| e.weight as usize).sum();
        assert_eq!(transcript.bytes(), weights);
    }

    /// What a property test does to a transcript.
    #[derive(Clone, Debug)]
    enum Step {
        Frame,
        Send {
            destination: usize,
        },
        Delivery {
            subscription: usize,
            destination: usize,
        },
        HeartBeat,
        /// A place kept, then filled with a frame.
        Filled,
        DropOldest,
        Clear,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Step::Frame),
            (0..3usize).prop_map(|destination| Step::Send { destination }),
            (0..3usize, 0..3usize).prop_map(|(subscription, destination)| Step::Delivery {
                subscription,
                destination
            }),
            Just(Step::HeartBeat),
            Just(Step::Filled),
            Just(Step::DropOldest),
            Just(Step::Clear),
        ]
    }

    /// What an entry renders as when its message has gone: the command and
    /// the names it shows (`None`: a heart-beat).
    type Shown = Option<(Command, Option<String>, Option<String>)>;

    fn shown(record: &FrameRecord) -> Shown {
        record.frame.as_ref().map(|f| {
            let header = |name| f.headers().get(name).map(str::to_owned);
            (
                f.command().clone(),
                header("destination"),
                header("subscription"),
            )
        })
    }

    proptest::proptest! {
        /// Whatever is pushed, let go or cleared, the entries shown name
        /// what was pushed, each slot is counted once per entry using it,
        /// and every name is let go once no entry uses it.
        #[test]
        fn names_follow_the_entries(
            limit in 1usize..24,
            steps in proptest::collection::vec(step(), 0..200),
        ) {
            let destinations: Vec<Arc<str>> =
                ["/queue/a", "/topic/b", "/queue/c"].map(Arc::from).to_vec();
            let subscriptions: Vec<Arc<str>> = ["s-0", "s-1", "s-2"].map(Arc::from).to_vec();
            let message = |destination: usize| {
                Arc::new(StoredMessage::from_send(
                    7,
                    1,
                    destinations[destination].clone(),
                    Headers::new(),
                    Bytes::new(),
                    None,
                ))
            };
            let mut transcript = Transcript::new(limit);
            // What is held, oldest first, as the transcript holds it.
            let mut model: VecDeque<(Shown, bool)> = VecDeque::new();
            for step in steps {
                // Pushes to both; the model lets its oldest go as the
                // transcript should: down below the limit an eighth past it.
                let mut push = |item: TranscriptItem<'_>, expected: Shown, named: bool| {
                    let place = transcript.push(Duration::ZERO, Direction::Out, item);
                    if model.len() >= limit + limit / 8 {
                        while model.len() >= limit {
                            model.pop_front();
                        }
                    }
                    model.push_back((expected, named));
                    place
                };
                match step {
                    Step::Frame => {
                        let frame = TranscriptItem::Frame(Frame::new(Command::Receipt));
                        push(frame, Some((Command::Receipt, None, None)), false);
                    }
                    Step::Send { destination } => {
                        let sent = message(destination);
                        let name = Some(destinations[destination].to_string());
                        push(TranscriptItem::Send(&sent), Some((Command::Send, name, None)), true);
                    }
                    Step::Delivery { subscription, destination } => {
                        let delivery = Delivery {
                            message: message(destination),
                            subscription: subscriptions[subscription].clone(),
                            ack: None,
                            redelivered: false,
                            if_unsent: IfUnsent::Nothing,
                            shared: None,
                        };
                        let expected = Some((
                            Command::Message,
                            Some(destinations[destination].to_string()),
                            Some(subscriptions[subscription].to_string()),
                        ));
                        let item = TranscriptItem::Delivery(&delivery, &subscriptions[subscription]);
                        push(item, expected, true);
                    }
                    Step::HeartBeat => {
                        push(TranscriptItem::HeartBeat, None, false);
                    }
                    Step::Filled => {
                        let filled = Some((Command::Disconnect, None, None));
                        let place = push(TranscriptItem::Pending, filled, false);
                        transcript.fill(place, TranscriptItem::Frame(Frame::new(Command::Disconnect)));
                    }
                    Step::DropOldest => {
                        proptest::prop_assert_eq!(transcript.drop_oldest(), model.pop_front().is_some());
                    }
                    Step::Clear => {
                        transcript.clear();
                        model.clear();
                    }
                }
                let records = transcript.render(&|_| None);
                let got: Vec<Shown> = records.iter().map(shown).collect();
                let skip = model.len() - model.len().min(limit);
                let expected: Vec<Shown> = model.iter().skip(skip).map(|(s, _)| s.clone()).collect();
                proptest::prop_assert_eq!(got, expected);
                let named = model.iter().filter(|(_, named)| *named).count();
                let slots: Vec<&Slot> = transcript.names.slots.iter().flatten().collect();
                let uses: usize = slots.iter().map(|s| s.uses as usize).sum();
                proptest::prop_assert_eq!(uses, named);
                proptest::prop_assert!(slots.len() <= named);
                proptest::prop_assert_eq!(transcript.names.index.len(), slots.len());
            }
            transcript.clear();
            for name in destinations.iter().chain(&subscriptions) {
                proptest::prop_assert_eq!(Arc::strong_count(name), 1, "{} still held", name);
            }
        }
    }

    #[test]
    fn letting_the_oldest_go_gives_back_its_weight() {
        let mut transcript = Transcript::new(2);
        let frame = Frame::new(Command::Disconnect);
        transcript.push(
            Duration::ZERO,
            Direction::In,
            TranscriptItem::Frame(frame.clone()),
        );
        let weight = transcript.bytes();
        assert_eq!(weight, ENTRY + frame.size());
        let place = transcript.push(Duration::ZERO, Direction::In, TranscriptItem::Pending);
        transcript.fill(place, TranscriptItem::Frame(frame));
        assert_eq!(transcript.bytes(), 2 * weight);
        transcript.push(Duration::ZERO, Direction::Out, TranscriptItem::HeartBeat);
        assert_eq!((transcript.len(), transcript.bytes()), (2, weight + ENTRY));
    }
}
