//! Text a person reads when a wait times out or an expectation fails.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Journal;
use crate::journal::MessageStatus;

/// How many items of each list a report shows.
const SHOWN: usize = 10;
/// How many frames of each connection a report shows.
const FRAMES: usize = 5;
/// How many frames of each connection the full report shows (the last).
const TRANSCRIPT: usize = 200;

impl Journal {
    /// Everything in brief: connections, messages, subscriptions, errors,
    /// last frames.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        self.write_connections(&mut out);
        self.write_published(&mut out, None);
        self.write_subscriptions(&mut out);
        self.write_errors(&mut out);
        self.write_frames(&mut out);
        out
    }

    /// The summary with each connection's frames in order (the last
    /// [`TRANSCRIPT`] of each), oldest connection first: what a failed
    /// test's report shows.
    pub(crate) fn report(&self) -> String {
        let mut out = String::new();
        self.write_connections(&mut out);
        self.write_published(&mut out, None);
        self.write_subscriptions(&mut out);
        self.write_errors(&mut out);
        if !self.is_recording() {
            return out;
        }
        for c in self.history.connections.values() {
            let Some(transcript) = self.history.transcripts.get(&c.id) else {
                continue;
            };
            let shown = transcript.last(TRANSCRIPT, &|seq| self.history.message(seq));
            let _ = write!(
                out,
                "frames of connection {} ({} in all",
                c.id,
                transcript.len()
            );
            if shown.len() < transcript.len() {
                let _ = write!(out, "; the last {}", shown.len());
            }
            let _ = writeln!(out, "):");
            for f in &shown {
                let _ = writeln!(out, "  {f}");
            }
        }
        out
    }

    /// What was published to `destination` and elsewhere, and the frames.
    pub(crate) fn message_summary(&self, destination: &str) -> String {
        let mut out = String::new();
        self.write_published(&mut out, Some(destination));
        self.write_subscriptions(&mut out);
        self.write_frames(&mut out);
        out
    }

    fn write_connections(&self, out: &mut String) {
        let count = self.connections().count();
        let _ = writeln!(out, "connections ({count}):");
        for c in self.history.connections.values().rev().take(SHOWN) {
            let _ = write!(out, "  {} from {}", c.id, c.peer);
            if let Some(login) = &c.login {
                let _ = write!(out, ", login {login}");
            }
            if let Some(id) = &c.client_id {
                let _ = write!(out, ", client-id {id}");
            }
            if let Some(v) = c.version {
                let _ = write!(out, ", STOMP {v}");
            }
            let _ = match &c.closed {
                Some((_, reason)) => writeln!(out, ", closed: {reason}"),
                None => writeln!(out, ", open"),
            };
        }
    }

    fn write_published(&self, out: &mut String, focus: Option<&str>) {
        if !self.is_recording() {
            out.push_str(
                "messages: not recorded (recording is off; Broker::builder().recording(true) turns it on)\n",
            );
            return;
        }
        let mut per_destination: BTreeMap<&str, usize> = BTreeMap::new();
        for t in self
            .history
            .published
            .iter()
            .filter(|t| is_published(t.status))
        {
            *per_destination.entry(&*t.stored.destination).or_default() += 1;
        }
        let counts: Vec<String> = per_destination
            .iter()
            .map(|(d, n)| format!("{d}: {n}"))
            .collect();
        let total: usize = per_destination.values().sum();
        let _ = writeln!(
            out,
            "published ({total} message{}){}{}",
            if total == 1 { "" } else { "s" },
            if counts.is_empty() {
                ""
            } else {
                " per destination: "
            },
            counts.join(", ")
        );
        if self.evicted_messages() > 0 {
            let _ = writeln!(
                out,
                "  ({} older messages dropped by the journal's limits)",
                self.evicted_messages()
            );
        }
        let shown: Vec<_> = match focus {
            Some(destination) => self.published_to(destination).collect(),
            None => self.published().collect(),
        };
        if let Some(destination) = focus {
            let uncommitted: Vec<_> = self
                .uncommitted()
                .filter(|m| m.destination == destination)
                .collect();
            let _ = writeln!(
                out,
                "on {destination} ({} published; {} more sent in transactions not committed):",
                shown.len(),
                uncommitted.len()
            );
            for m in uncommitted.iter().rev().take(SHOWN).rev() {
                let _ = writeln!(out, "  not published: {m}");
            }
            let names = per_destination.keys().copied();
            if let Some(near) = nearest(destination, names).filter(|_| shown.is_empty()) {
                let _ = writeln!(
                    out,
                    "  nothing was published to {destination}: did you mean {near}?"
                );
            }
        }
        let skip = shown.len().saturating_sub(SHOWN);
        if skip > 0 {
            let _ = writeln!(out, "  ... {skip} earlier");
        }
        for m in &shown[skip..] {
            let _ = writeln!(out, "  {m}");
        }
    }

    fn write_subscriptions(&self, out: &mut String) {
        let subscriptions = self.live.subscriptions();
        let _ = writeln!(out, "subscriptions ({}):", subscriptions.len());
        for s in subscriptions.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "  connection {} id {:?} on {} ({}): delivered {}, acked {}, nacked {}, unacked {}",
                s.connection, s.id, s.destination, s.ack, s.delivered, s.acked, s.nacked, s.unacked
            );
        }
    }

    fn write_errors(&self, out: &mut String) {
        let count = self.errors_sent().count();
        if count == 0 {
            return;
        }
        let _ = writeln!(out, "ERROR frames sent ({count}):");
        for e in self.errors_sent().take(SHOWN) {
            let _ = writeln!(out, "  to connection {}: {}", e.connection, e.message);
        }
    }

    fn write_frames(&self, out: &mut String) {
        if !self.is_recording() {
            return;
        }
        for c in self.history.connections.values().rev().take(FRAMES) {
            let Some(transcript) = self.history.transcripts.get(&c.id) else {
                continue;
            };
            let _ = writeln!(
                out,
                "last frames of connection {} ({} in all):",
                c.id,
                transcript.len()
            );
            for f in &transcript.last(FRAMES, &|seq| self.history.message(seq)) {
                let _ = writeln!(out, "  {f}");
            }
        }
    }
}

/// Whether a message counts as published (not held in a transaction).
pub(crate) fn is_published(status: MessageStatus) -> bool {
    !matches!(
        status,
        MessageStatus::InTransaction | MessageStatus::Discarded | MessageStatus::RolledBack
    )
}

/// The name among `names` nearest to `wanted` (a typo's likely intent):
/// within a third of its length in edits, and not `wanted` itself.
fn nearest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    names
        .filter(|name| *name != wanted)
        .map(|name| (edits(wanted, name), name))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, name)| name)
}

/// The Levenshtein distance between `a` and `b`.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_name_is_within_a_few_edits() {
        let names = ["/queue/orders", "/queue/payments", "/topic/prices"];
        assert_eq!(
            nearest("/queue/order", names.into_iter()),
            Some("/queue/orders")
        );
        assert_eq!(
            nearest("/queue/ordres", names.into_iter()),
            Some("/queue/orders")
        );
        assert_eq!(nearest("/topic/other", names.into_iter()), None);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
