//! A loopback relay that gives each test its own destinations on a shared
//! real broker: `destination:/queue/a` (and `/topic/`, in `destination`,
//! `reply-to` and `original-destination` headers, and the later parts of a
//! composite destination, `,/queue/b`) becomes `/queue/<ns>.a` on the way to the broker and
//! back again on the way to the test, so tests that run at once, or reuse a
//! name, or fail leaving messages behind never meet on ActiveMQ or RabbitMQ.
//!
//! It rewrites bytes, not frames (malformed frames reach the broker as the
//! test wrote them); a header split across two reads is held back until the
//! rest arrives, or for at most a few milliseconds.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The relay; it stops when the test process ends.
pub struct Namespace {
    addr: SocketAddr,
}

impl Namespace {
    /// Starts relaying to `broker`, prefixing names with `ns`.
    pub fn start(broker: SocketAddr, ns: &str) -> Namespace {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the namespace relay");
        let addr = listener.local_addr().unwrap();
        let rules = Rules::new(ns);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(upstream) = TcpStream::connect(broker) else {
                    return;
                };
                client.set_nodelay(true).ok();
                upstream.set_nodelay(true).ok();
                let (to_broker, to_client) = (rules.to_broker.clone(), rules.to_client.clone());
                let (c, u) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                std::thread::spawn(move || pump(client, upstream, &to_broker));
                std::thread::spawn(move || pump(u, c, &to_client));
            }
        });
        Namespace { addr }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

type Replacements = Vec<(Vec<u8>, Vec<u8>)>;

struct Rules {
    to_broker: Replacements,
    to_client: Replacements,
}

impl Rules {
    fn new(ns: &str) -> Rules {
        let mut to_broker = Vec::new();
        for prefix in ["/queue/", "/topic/"] {
            for header in ["destination", "reply-to", "original-destination"] {
                let plain = format!("\n{header}:{prefix}").into_bytes();
                let spaced = format!("\n{header}:{prefix}{ns}.").into_bytes();
                to_broker.push((plain, spaced));
            }
            // The later parts of a composite destination (`/queue/a,/queue/b`).
            to_broker.push((
                format!(",{prefix}").into_bytes(),
                format!(",{prefix}{ns}.").into_bytes(),
            ));
        }
        let mut to_client: Replacements = to_broker
            .iter()
            .map(|(a, b)| (b.clone(), a.clone()))
            .collect();
        // ActiveMQ writes a composite's later parts as `,queue://NAME`
        // (its colon escaped as `\c` in a STOMP 1.1 or 1.2 header).
        for kind in ["queue", "topic"] {
            for colon in [":", "\\c"] {
                let plain = format!(",{kind}{colon}//").into_bytes();
                let spaced = format!(",{kind}{colon}//{ns}.").into_bytes();
                to_client.push((spaced, plain));
            }
        }
        Rules {
            to_broker,
            to_client,
        }
    }
}

/// Copies `from` to `to`, rewriting, until either side ends.
fn pump(mut from: TcpStream, mut to: TcpStream, rules: &Replacements) {
    let longest = rules.iter().map(|(a, _)| a.len()).max().unwrap_or(1);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    from.set_read_timeout(Some(Duration::from_millis(3))).ok();
    loop {
        match from.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                pending.extend_from_slice(&chunk[..n]);
                let out = rewrite(&pending, rules);
                let keep = held_back(&out, rules, longest);
                if to.write_all(&out[..out.len() - keep]).is_err() {
                    break;
                }
                pending = out[out.len() - keep..].to_vec();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !pending.is_empty() && to.write_all(&std::mem::take(&mut pending)).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    to.write_all(&pending).ok();
    to.shutdown(Shutdown::Write).ok();
}

/// `bytes` with every rule applied (a rewritten part is not looked at again).
fn rewrite(bytes: &[u8], rules: &Replacements) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    'scan: while i < bytes.len() {
        if bytes[i] == b'\n' || bytes[i] == b',' {
            for (from, to) in rules {
                if bytes[i..].starts_with(from) {
                    out.extend_from_slice(to);
                    i += from.len();
                    continue 'scan;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// How many bytes at the end could begin a rule's pattern.
fn held_back(bytes: &[u8], rules: &Replacements, longest: usize) -> usize {
    let start = bytes.len().saturating_sub(longest - 1);
    (start..bytes.len())
        .find(|&at| {
            let tail = &bytes[at..];
            tail[0] == b'\n' && rules.iter().any(|(from, _)| from.starts_with(tail))
        })
        .map_or(0, |at| bytes.len() - at)
}
