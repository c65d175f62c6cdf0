//! One connection's transcript: its frames in and out, bounded.
//!
//! Kept in the broker's state and written under its lock, in the same pass
//! that handles the frame: an incoming frame when the session takes it, an
//! outgoing one when it is queued for the connection's writer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::journal::{Direction, FrameRecord};
use crate::protocol::frame::{Command, Frame, Headers};
use crate::protocol::message::{Delivery, IfUnsent, StoredMessage, message_id_text};

/// What an entry costs besides what its item holds (the entry itself and
/// its place in the list), near enough.
const ENTRY: usize = 48;

/// What a SEND or MESSAGE entry is weighed at: the message itself is
/// weighed with its published record.
const MESSAGE_ENTRY: usize = 160;

#[derive(Debug)]
struct TranscriptEntry {
    at: Duration,
    direction: Direction,
    /// What the entry holds, kept so that letting the oldest entry go does
    /// not read its (long cold) frame again.
    weight: u32,
    item: TranscriptItem,
}

/// A transcript entry as kept: frames the broker made itself are rendered
/// only when read, and a message is named, not held (its published record
/// holds it, bounded): once the journal lets go of it, the entry shows only
/// what the broker knows without it.
#[derive(Debug)]
pub(crate) enum TranscriptItem {
    Frame(Frame),
    Send(SentMessage),
    Delivery(SentMessage, DeliveryFacts),
    HeartBeat,
    /// The place of an incoming frame still being handled.
    Pending,
}

/// A message in a transcript: a SEND received or one MESSAGE delivered.
///
/// The message is named by its journal `seq`, not held or counted (a
/// reference count here would be touched by the reader and by the writer
/// threads that drop their deliveries, one cache line between cores per
/// MESSAGE); rendering looks it up among the published records.
#[derive(Debug)]
pub(crate) struct SentMessage {
    seq: u64,
    id: u64,
    destination: Arc<str>,
}

/// A MESSAGE's own headers: its subscription, `ack` tag and
/// `redelivered`, the tag and the flag in one word.
#[derive(Debug)]
pub(crate) struct DeliveryFacts {
    subscription: Arc<str>,
    tag: u64,
}

impl DeliveryFacts {
    /// The top bit of `tag`: `redelivered`.
    const REDELIVERED: u64 = 1 << 63;
    /// `tag` without the flag when the delivery has no `ack` header.
    const NO_ACK: u64 = Self::REDELIVERED - 1;

    fn new(delivery: &Delivery, subscription: &Arc<str>) -> DeliveryFacts {
        // Tags count up from 1 per connection: they never reach the flag.
        let ack = delivery
            .ack
            .map_or(Self::NO_ACK, |t| t.min(Self::NO_ACK - 1));
        let flag = if delivery.redelivered {
            Self::REDELIVERED
        } else {
            0
        };
        DeliveryFacts {
            subscription: subscription.clone(),
            tag: ack | flag,
        }
    }

    fn ack(&self) -> Option<u64> {
        let tag = self.tag & !Self::REDELIVERED;
        (tag != Self::NO_ACK).then_some(tag)
    }

    fn redelivered(&self) -> bool {
        self.tag & Self::REDELIVERED != 0
    }
}

impl SentMessage {
    fn of(message: &StoredMessage) -> SentMessage {
        SentMessage {
            seq: message.journal_seq,
            id: message.id,
            destination: message.destination.clone(),
        }
    }
}

impl TranscriptItem {
    /// A SEND received.
    pub(crate) fn send(message: &StoredMessage) -> TranscriptItem {
        TranscriptItem::Send(SentMessage::of(message))
    }

    /// A MESSAGE queued for the connection's writer (`subscription`: its
    /// id as the broker's state holds it).
    pub(crate) fn delivery(delivery: &Delivery, subscription: &Arc<str>) -> TranscriptItem {
        TranscriptItem::Delivery(
            SentMessage::of(&delivery.message),
            DeliveryFacts::new(delivery, subscription),
        )
    }

    /// The frame (`None`: a heart-beat), and whether its message had been
    /// let go by the journal (`messages` finds a kept one by its seq).
    fn render(
        &self,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> (Option<Frame>, bool) {
        let kept = |sent: &SentMessage| messages(sent.seq).filter(|m| m.id == sent.id);
        match self {
            TranscriptItem::Frame(frame) => (Some(frame.clone()), false),
            TranscriptItem::Send(sent) => match kept(sent) {
                Some(message) => (Some(message.send_frame()), false),
                None => {
                    let mut headers = Headers::new();
                    headers.push("destination", &*sent.destination);
                    let frame = Frame::from_parts(Command::Send, headers, Default::default());
                    (Some(frame), true)
                }
            },
            TranscriptItem::Delivery(sent, facts) => match kept(sent) {
                Some(message) => {
                    let delivery = Delivery {
                        message,
                        subscription: facts.subscription.clone(),
                        ack: facts.ack(),
                        redelivered: facts.redelivered(),
                        if_unsent: IfUnsent::Nothing,
                        shared: None,
                    };
                    (Some(delivery.to_frame()), false)
                }
                None => (Some(evicted_message_frame(sent, facts)), true),
            },
            TranscriptItem::HeartBeat | TranscriptItem::Pending => (None, false),
        }
    }

    /// What the entry holds: a frame's bytes; a message is weighed with its
    /// published record.
    fn weight(&self) -> u32 {
        let own = match self {
            TranscriptItem::Frame(frame) => frame.size(),
            TranscriptItem::Send(_) | TranscriptItem::Delivery(..) => MESSAGE_ENTRY,
            TranscriptItem::HeartBeat | TranscriptItem::Pending => 0,
        };
        u32::try_from(ENTRY + own).unwrap_or(u32::MAX)
    }
}

/// A MESSAGE whose message the journal let go: the broker's own headers.
fn evicted_message_frame(sent: &SentMessage, facts: &DeliveryFacts) -> Frame {
    let mut headers = Headers::new();
    headers.push("message-id", message_id_text(sent.id));
    headers.push("subscription", &*facts.subscription);
    if let Some(tag) = facts.ack() {
        headers.push("ack", tag.to_string());
    }
    if facts.redelivered() {
        headers.push("redelivered", "true");
    }
    headers.push("destination", &*sent.destination);
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
    /// What the entries hold (see [`TranscriptItem::weight`]).
    bytes: usize,
}

impl Transcript {
    pub(crate) fn new(limit: usize) -> Transcript {
        Transcript {
            entries: VecDeque::new(),
            limit,
            dropped: 0,
            bytes: 0,
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
        if self.entries.len() >= self.limit {
            self.drop_oldest();
        }
        if self.limit > 0 {
            let weight = entry.weight();
            self.bytes += weight as usize;
            self.entries.push_back(TranscriptEntry {
                at,
                direction,
                weight,
                item: entry,
            });
        }
        self.dropped + self.entries.len() as u64 - 1
    }

    /// Puts `entry` in place of the one at `position` (a placeholder), if it
    /// is still kept.
    pub(crate) fn fill(&mut self, position: u64, entry: TranscriptItem) {
        let Some(index) = position.checked_sub(self.dropped) else {
            return;
        };
        if let Some(kept) = usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            let weight = entry.weight();
            self.bytes = self.bytes - kept.weight as usize + weight as usize;
            kept.weight = weight;
            kept.item = entry;
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
        self.last(self.entries.len(), messages)
    }

    /// The last `count` entries, oldest first (a place still being filled
    /// left out).
    pub(crate) fn last(
        &self,
        count: usize,
        messages: &dyn Fn(u64) -> Option<Arc<StoredMessage>>,
    ) -> Vec<FrameRecord> {
        let skip = self.entries.len().saturating_sub(count);
        self.entries
            .iter()
            .skip(skip)
            .filter(|e| !matches!(e.item, TranscriptItem::Pending))
            .map(|e| {
                let (frame, message_evicted) = e.item.render(messages);
                FrameRecord {
                    at: e.at,
                    direction: e.direction,
                    frame,
                    message_evicted,
                }
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.dropped += self.entries.len() as u64;
        self.entries.clear();
        self.bytes = 0;
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
        let item = TranscriptItem::delivery(&delivery, &delivery.subscription);
        let kept = delivery.message.clone();
        let (frame, evicted) = item.render(&|seq| (seq == 3).then(|| kept.clone()));
        assert_eq!((frame, evicted), (Some(delivery.to_frame()), false));

        let (frame, evicted) = item.render(&|_| None);
        let frame = frame.expect("a MESSAGE");
        assert!(evicted);
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
