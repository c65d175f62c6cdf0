//! The HTTP inspection API: the journal as JSON, plus injecting a message,
//! resetting, and a long-poll wait. One thread accepts; each request is
//! served on a thread of its own (at most [`MAX_IN_FLIGHT`] at once, then
//! 503), so a client that sends its body slowly, never reads its answer or
//! waits long cannot hold up another, nor the shutdown (request threads are
//! not joined: the process exit ends a stuck one).
//!
//! | Request | Answer |
//! | --- | --- |
//! | `GET /messages[?destination=D][&after=SEQ][&limit=N]` | published messages, oldest first, streamed; the next page starts `after` the last `seq` |
//! | `GET /messages/ID/body` | one message's body, as sent |
//! | `POST /messages` `{"destination","body","headers":{..}}` | `{"message_id"}` |
//! | `GET /deliveries`, `/acks`, `/subscriptions`, `/transactions`, `/transactions/history`, `/connections`, `/errors`, `/auth-failures`, `/permission-denials` | lists |
//! | `GET /connections/ID/frames` | the connection's transcript |
//! | `GET /queues[?destination=D]` | queue contents |
//! | `POST /reset[?queues=true]` | clears the journal (and the queues) |
//! | `GET /wait?destination=D&count=N&timeout_ms=T` | 200 with the messages once there, or 408 with what did arrive; 503 when [`MAX_WAITS`] are blocked already |
//! | `GET /memory` | what the broker holds, against its budget |

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{json, Value};
use stompbox::{Broker, Error};
use tiny_http::{Header, Method, Request, Response, Server};

use super::json;
use super::pages::MessagePages;

/// The most of a request body that is read (a message to inject).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// The most requests served at once; one more gets 503 at once.
const MAX_IN_FLIGHT: usize = 64;

/// Longest a `/wait` may block.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The most `/wait`s blocked at once; one more gets 503 at once, so waits
/// never take every request slot (each blocked wait holds one thread, and
/// costs each change of the journal one O(1) check).
const MAX_WAITS: usize = 32;

/// How many `/wait`s are blocked now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// A running HTTP API; [`HttpApi::stop`] ends it.
pub(crate) struct HttpApi {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    pub(crate) addr: SocketAddr,
}

impl HttpApi {
    pub(crate) fn start(
        addr: SocketAddr,
        broker: Arc<Broker>,
        token: Option<String>,
    ) -> Result<HttpApi, String> {
        let server =
            Server::http(addr).map_err(|e| format!("cannot listen for HTTP on {addr}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or("the HTTP server has no IP address")?;
        let server = Arc::new(server);
        let serving = server.clone();
        let thread = thread::Builder::new()
            .name("stompbox-http".into())
            .spawn(move || {
                let in_flight = Arc::new(AtomicUsize::new(0));
                let token = token.map(|t| format!("Bearer {t}"));
                for request in serving.incoming_requests() {
                    if let Some(expected) = &token {
                        if !authorized(&request, expected) {
                            let refused = "this API needs the header Authorization: Bearer TOKEN";
                            respond(request, (401, json!({ "error": refused })));
                            continue;
                        }
                    }
                    dispatch(request, &broker, &in_flight);
                }
            })
            .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
        Ok(HttpApi {
            server,
            thread: Some(thread),
            addr,
        })
    }

    pub(crate) fn stop(mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Answer = (u16, Value);

/// Whether `request` carries the expected `Authorization` value (compared
/// in constant time, so its timing does not reveal the token).
fn authorized(request: &Request, expected: &str) -> bool {
    let Some(given) = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().as_bytes())
    else {
        return false;
    };
    let expected = expected.as_bytes();
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Serves `request` on a thread of its own, or answers 503 when
/// [`MAX_IN_FLIGHT`] are being served already.
fn dispatch(request: Request, broker: &Arc<Broker>, in_flight: &Arc<AtomicUsize>) {
    if in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let busy = format!("{MAX_IN_FLIGHT} requests are being served; try again");
        respond(request, (503, json!({ "error": busy })));
        return;
    }
    let broker = broker.clone();
    let done = in_flight.clone();
    let started = thread::Builder::new()
        .name("stompbox-http-request".into())
        .spawn(move || {
            serve(request, &broker);
            done.fetch_sub(1, Ordering::SeqCst);
        });
    if started.is_err() {
        // Out of threads: the request is dropped (its client sees the
        // connection close), and the API keeps accepting.
        in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn serve(mut request: Request, broker: &Arc<Broker>) {
    let (path, query) = split_url(request.url());
    if request.method() == &Method::Get {
        let answered = match path.as_str() {
            "/wait" => Some(wait(broker, &query).map(Reply::Json)),
            "/messages" => Some(messages(broker, &query)),
            _ if path.starts_with("/messages/") && path.ends_with("/body") => {
                Some(message_body(broker, &path))
            }
            _ => None,
        };
        if let Some(answer) = answered {
            match answer {
                Ok(Reply::Json(answer)) => respond(request, answer),
                Ok(Reply::Stream(pages)) => stream(request, pages),
                Ok(Reply::Bytes(content_type, body)) => respond_bytes(request, &content_type, body),
                Err(message) => respond(request, bad_request(message)),
            }
            return;
        }
    }
    let mut body = String::new();
    let _ = request.as_reader().take(MAX_BODY).read_to_string(&mut body);
    let answer = route(request.method(), &path, &query, &body, broker).unwrap_or_else(bad_request);
    respond(request, answer);
}

/// What a GET answered outside [`route`] sends back.
enum Reply {
    Json(Answer),
    Stream(MessagePages),
    Bytes(String, Vec<u8>),
}

/// `GET /messages[?destination=D][&after=SEQ][&limit=N]`, streamed.
fn messages(broker: &Arc<Broker>, query: &HashMap<String, String>) -> Result<Reply, String> {
    if !broker.inspect(|j| j.is_recording()) {
        return Ok(Reply::Json((409, json!({ "error": NOT_RECORDING }))));
    }
    let number = |name: &str| -> Result<Option<u64>, String> {
        query
            .get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("'{name}' must be a number, not '{v}'"))
            })
            .transpose()
    };
    let after = number("after")?.unwrap_or(0);
    let limit = number("limit")?.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let destination = query.get("destination").cloned();
    Ok(Reply::Stream(MessagePages::new(
        broker.clone(),
        destination,
        after,
        limit,
    )))
}

/// `GET /messages/ID/body`: one message's body as it was sent, with its
/// `content-type` if it had one.
fn message_body(broker: &Broker, path: &str) -> Result<Reply, String> {
    let id = path
        .strip_prefix("/messages/")
        .and_then(|rest| rest.strip_suffix("/body"))
        .unwrap_or_default();
    let found = broker.inspect(|j| {
        j.published().find(|m| m.message_id == id).map(|m| {
            let content_type = m
                .headers
                .get("content-type")
                .unwrap_or("application/octet-stream")
                .to_owned();
            (content_type, m.body.to_vec())
        })
    });
    Ok(match found {
        Some((content_type, body)) => Reply::Bytes(content_type, body),
        None => Reply::Json((
            404,
            json!({ "error": format!("no message '{id}' in the journal") }),
        )),
    })
}

fn stream(request: Request, pages: MessagePages) {
    let header = Header::from_bytes("Content-Type", "application/json").expect("valid header");
    let response = Response::new(tiny_http::StatusCode(200), vec![header], pages, None, None);
    let _ = request.respond(response);
}

fn respond_bytes(request: Request, content_type: &str, body: Vec<u8>) {
    let header = Header::from_bytes("Content-Type", content_type)
        .or_else(|()| Header::from_bytes("Content-Type", "application/octet-stream"))
        .expect("valid header");
    let _ = request.respond(Response::from_data(body).with_header(header));
}

fn respond(request: Request, (status, value): Answer) {
    let header = Header::from_bytes("Content-Type", "application/json").expect("valid header");
    let response = Response::from_string(value.to_string())
        .with_status_code(status)
        .with_header(header);
    let _ = request.respond(response);
}

/// The answer for history when the broker does not record it.
const NOT_RECORDING: &str =
    "recording is off: this broker keeps no history (the config file's [journal] recording = false)";

fn bad_request(message: String) -> Answer {
    (400, json!({ "error": message }))
}

fn route(
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &str,
    broker: &Broker,
) -> Result<Answer, String> {
    let list = |values: Vec<Value>| Ok((200, Value::Array(values)));
    // History that is not kept is a 409, never an empty list.
    let recorded = |values: Option<Vec<Value>>| match values {
        Some(values) => list(values),
        None => Ok((409, json!({ "error": NOT_RECORDING }))),
    };
    let destination = query.get("destination");
    match (method, path) {
        (Method::Get, "/") => Ok((200, index())),
        (Method::Post, "/messages") => inject(broker, body),
        (Method::Get, "/deliveries") => recorded(
            broker
                .deliveries()
                .map(|all| all.iter().map(json::delivery).collect()),
        ),
        (Method::Get, "/acks") => {
            recorded(broker.acks().map(|all| all.iter().map(json::ack).collect()))
        }
        (Method::Get, "/subscriptions") => list(
            broker
                .subscriptions()
                .iter()
                .map(json::subscription)
                .collect(),
        ),
        (Method::Get, "/transactions") => list(
            broker
                .transactions()
                .iter()
                .map(json::transaction)
                .collect(),
        ),
        (Method::Get, "/transactions/history") => list(
            broker
                .transaction_history()
                .iter()
                .map(json::ended_transaction)
                .collect(),
        ),
        (Method::Get, "/connections") => {
            list(broker.connections().iter().map(json::connection).collect())
        }
        (Method::Get, "/errors") => list(broker.errors_sent().iter().map(json::error).collect()),
        (Method::Get, "/auth-failures") => list(
            broker
                .auth_failures()
                .iter()
                .map(json::auth_failure)
                .collect(),
        ),
        (Method::Get, "/permission-denials") => list(
            broker
                .permission_denials()
                .iter()
                .map(json::denial)
                .collect(),
        ),
        (Method::Get, "/queues") => list(match destination {
            Some(d) => vec![json::queue(&broker.queue(d))],
            None => broker.queues().iter().map(json::queue).collect(),
        }),
        (Method::Get, "/memory") => Ok((200, json::memory(&broker.memory()))),
        (Method::Post, "/reset") => {
            broker.reset();
            if query.get("queues").map(String::as_str) == Some("true") {
                broker.clear_queues();
            }
            Ok((200, json!({ "reset": true })))
        }
        (Method::Get, _) if path.starts_with("/connections/") && path.ends_with("/frames") => {
            frames(broker, path)
        }
        _ => Ok((
            404,
            json!({ "error": format!("no such endpoint: {method} {path} (GET / lists them)") }),
        )),
    }
}

fn index() -> Value {
    json!({
        "endpoints": [
            "GET /messages[?destination=D][&after=SEQ][&limit=N]", "GET /messages/ID/body",
            "POST /messages {destination, body, headers}",
            "GET /deliveries", "GET /acks", "GET /subscriptions", "GET /transactions",
            "GET /transactions/history", "GET /connections", "GET /connections/ID/frames",
            "GET /errors", "GET /auth-failures", "GET /permission-denials",
            "GET /queues[?destination=D]", "GET /memory", "POST /reset[?queues=true]",
            "GET /wait?destination=D&count=N&timeout_ms=T",
        ]
    })
}

fn inject(broker: &Broker, body: &str) -> Result<Answer, String> {
    let request: Value =
        serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let destination = request["destination"]
        .as_str()
        .ok_or("\"destination\" (a string) is required")?;
    let text = match &request["body"] {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        _ => return Err("\"body\" must be a string".to_owned()),
    };
    let headers: Vec<(String, String)> = match &request["headers"] {
        Value::Null => Vec::new(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        _ => return Err("\"headers\" must be an object of strings".to_owned()),
    };
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = broker
        .try_publish_with(destination, text, &pairs)
        .map_err(|e| match e {
            Error::Protocol(what) => what,
            other => other.to_string(),
        })?;
    Ok((201, json!({ "message_id": id })))
}

fn frames(broker: &Broker, path: &str) -> Result<Answer, String> {
    // Exactly /connections/ID/frames: trim_*_matches would take
    // /connections/1/frames/frames as connection 1.
    let id = path
        .strip_prefix("/connections/")
        .and_then(|rest| rest.strip_suffix("/frames"))
        .unwrap_or_default();
    let id: u64 = id
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| id.parse().ok())
        .flatten()
        .ok_or_else(|| format!("connection id must be a number, got {id:?}"))?;
    Ok(match broker.frames(id) {
        Some(frames) => (
            200,
            Value::Array(frames.iter().map(json::frame_record).collect()),
        ),
        None => (
            404,
            json!({ "error": format!("no transcript for connection {id} (unknown, or recording is off)") }),
        ),
    })
}

fn wait(broker: &Broker, query: &HashMap<String, String>) -> Result<Answer, String> {
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITS {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        let busy = format!("{MAX_WAITS} waits are blocked already; try again");
        return Ok((503, json!({ "error": busy })));
    }
    let answer = wait_for_messages(broker, query);
    WAITING.fetch_sub(1, Ordering::SeqCst);
    answer
}

fn wait_for_messages(broker: &Broker, query: &HashMap<String, String>) -> Result<Answer, String> {
    let destination = query.get("destination").ok_or("destination is required")?;
    let number = |name: &str, default: u64| -> Result<u64, String> {
        query.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} must be a whole number, got {v:?}"))
        })
    };
    let count = usize::try_from(number("count", 1)?).map_err(|e| e.to_string())?;
    let timeout = Duration::from_millis(number("timeout_ms", 5000)?).min(MAX_WAIT);
    match broker.wait_for_messages(destination, count, timeout) {
        Ok(messages) => Ok((
            200,
            json!({ "messages": messages.iter().map(json::message).collect::<Vec<_>>() }),
        )),
        Err(e @ Error::Timeout(_)) => {
            let arrived: Vec<Value> = broker
                .published_to(destination)
                .unwrap_or_default()
                .iter()
                .map(json::message)
                .collect();
            Ok((408, json!({ "error": e.to_string(), "arrived": arrived })))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `/path?a=1&b=x%2Fy` into the path and decoded parameters.
fn split_url(url: &str) -> (String, HashMap<String, String>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect();
    (percent_decode(path), params)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_decoded() {
        let (path, query) = split_url("/wait?destination=%2Fqueue%2Fa&count=2&x");
        assert_eq!(path, "/wait");
        assert_eq!(query["destination"], "/queue/a");
        assert_eq!(query["count"], "2");
        assert_eq!(query["x"], "");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
