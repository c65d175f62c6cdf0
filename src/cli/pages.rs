//! `GET /messages`, streamed: the journal is read a page at a time (the
//! broker's lock held for one page, never for the whole journal) and written
//! out as one JSON array while it is read, so neither a long journal nor a
//! large body stalls STOMP traffic or copies the journal.

use std::io::{self, Read};
use std::sync::Arc;

use stompbox::Broker;
use stompbox::journal::PublishedMessage;

use super::json;

/// Messages rendered per page.
const PAGE: usize = 256;

/// Records looked at per page when filtering by destination (so a rare
/// destination does not hold the lock for a scan of the whole journal).
const SCAN: usize = 4096;

/// The published messages after `after` (to `destination` if given, at
/// most `limit`), as a JSON array produced as it is read.
pub(crate) struct MessagePages {
    broker: Arc<Broker>,
    destination: Option<String>,
    after: u64,
    left: usize,
    out: Vec<u8>,
    at: usize,
    started: bool,
    /// Whether a message has been written (the next needs a comma).
    written: bool,
    finished: bool,
}

impl MessagePages {
    pub(crate) fn new(
        broker: Arc<Broker>,
        destination: Option<String>,
        after: u64,
        limit: usize,
    ) -> MessagePages {
        MessagePages {
            broker,
            destination,
            after,
            left: limit,
            out: Vec::new(),
            at: 0,
            started: false,
            written: false,
            finished: false,
        }
    }

    /// Renders the next page into `out`.
    fn fill(&mut self) {
        if !self.started {
            self.out.push(b'[');
        }
        let (page, scanned_to, at_end) = self.next_page();
        for message in &page {
            if self.written {
                self.out.push(b',');
            }
            self.written = true;
            serde_json::to_writer(&mut self.out, &json::message(message)).expect("JSON to memory");
        }
        self.started = true;
        self.after = scanned_to;
        self.left -= page.len();
        if at_end || self.left == 0 {
            self.out.push(b']');
            self.finished = true;
        }
    }

    /// One page under the lock: the matching messages, the last `seq`
    /// looked at, and whether the journal's end was reached.
    fn next_page(&self) -> (Vec<PublishedMessage>, u64, bool) {
        let want = PAGE.min(self.left);
        if want == 0 {
            // `limit=0`: an empty page, and the end.
            return (Vec::new(), self.after, true);
        }
        let destination = self.destination.as_deref();
        self.broker.inspect(|journal| {
            let mut page = Vec::new();
            let mut last = self.after;
            let mut scanned = 0;
            for message in journal.published_after(self.after) {
                scanned += 1;
                last = message.seq;
                if destination.is_none_or(|d| message.destination == d) {
                    page.push(message);
                    if page.len() == want {
                        return (page, last, false);
                    }
                }
                if scanned == SCAN {
                    return (page, last, false);
                }
            }
            (page, last, true)
        })
    }
}

impl Read for MessagePages {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.finished {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            self.fill();
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(pages: MessagePages) -> serde_json::Value {
        let mut text = String::new();
        let mut pages = pages;
        pages.read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn pages_make_one_array_across_page_and_scan_boundaries() {
        let broker = Arc::new(Broker::start().unwrap());
        for i in 0..(SCAN + PAGE + 3) {
            let destination = if i % 1000 == 7 {
                "/queue/rare"
            } else {
                "/queue/common"
            };
            broker.publish(destination, i.to_string());
        }
        let all = read_all(MessagePages::new(broker.clone(), None, 0, usize::MAX));
        assert_eq!(all.as_array().unwrap().len(), SCAN + PAGE + 3);
        let rare = read_all(MessagePages::new(
            broker.clone(),
            Some("/queue/rare".into()),
            0,
            usize::MAX,
        ));
        let bodies: Vec<&str> = rare
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, ["7", "1007", "2007", "3007", "4007"]);
        let page = read_all(MessagePages::new(broker.clone(), None, 10, 3));
        let seqs: Vec<u64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [11, 12, 13]);
        let empty = read_all(MessagePages::new(broker.clone(), None, 1_000_000, 5));
        assert_eq!(empty, serde_json::json!([]));
        // Found by the connection fuzz target: limit=0 with messages kept.
        let none = read_all(MessagePages::new(broker, None, 0, 0));
        assert_eq!(none, serde_json::json!([]));
    }
}
