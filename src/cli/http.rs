//! The HTTP inspection API: the journal as JSON, plus injecting a message,
//! resetting, and a long-poll wait, on the [`server`](super::server) (one
//! thread accepts, each request is served on a thread of its own, bounded in
//! number and time), so a client that sends its body slowly, never reads its
//! answer or waits long cannot hold up another, nor the shutdown (request
//! threads are not joined: the process exit ends a stuck one).
//!
//! | Request | Answer |
//! | --- | --- |
//! | `GET /messages[?destination=D][&after=SEQ][&limit=N]` | published messages, oldest first, streamed; the next page starts `after` the last `seq` |
//! | `GET /messages/ID/body` | one message's body, as sent |
//! | `GET /messages/uncommitted` | messages sent in transactions not committed (open, aborted, rolled back), with their status |
//! | `POST /messages` `{"destination","body","headers":{..}}` | `{"message_id"}` |
//! | `GET /deliveries`, `/acks`, `/subscriptions`, `/transactions`, `/transactions/history`, `/connections`, `/errors`, `/auth-failures`, `/permission-denials` | lists |
//! | `GET /connections/ID/frames` | the connection's transcript |
//! | `GET /clients` | connections grouped by client (`client-id`, else `login@address`): reconnects and the gaps before them |
//! | `GET /queues[?destination=D]` | queue contents |
//! | `POST /reset[?queues=true]` | clears the journal (and the queues) |
//! | `GET /wait?destination=D&count=N&timeout_ms=T` | 200 with the messages once there, or 408 with what did arrive; 503 when [`MAX_WAITS`] are blocked already |
//! | `GET /wait?client=ID&reconnects=N&timeout_ms=T` | 200 with the client once it has reconnected N times and is connected, or 408 saying what was seen |
//! | `GET /memory` | what the broker holds, against its budget |
//! | `POST /faults` `{"kind": "drop", ...}` (see [`faults`](super::faults)) | 201 `{"id", "fault", "fired", "seed", "hits"}`; 400 naming what is wrong |
//! | `GET /faults` | the armed faults, with what each has done |
//! | `DELETE /faults/ID` | removes one |
//! | `POST /connections/ID/kick` `[{"error": TEXT}]` | closes it (with an ERROR first) |
//! | `POST /restart[?wipe_queues=true][&down_ms=N]`, `POST /pause`, `POST /resume` | the broker goes away and comes back on the same ports |
//! | `GET /traffic[?after=SEQ][&timeout_ms=T][&connection=ID][&destination=D][&command=C][&limit=N]` | frames in and out and closes after `SEQ`, waiting up to T ms for one (a long-poll; see [`feed`](super::feed)) |
//! | `GET /info` | where the broker listens, and whether the API is on loopback only |
//! | `DELETE /queues` | drops every queue's waiting messages (the journal stays) |
//! | `GET /` (a browser), `GET /assets/NAME` | the live web view (see [`web`](super::web)) |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use stompbox::{Broker, Error};

use super::faults::ArmedFaults;
use super::feed::{Filter, TrafficFeed};
use super::json;
use super::pages::MessagePages;
use super::server::{Request, Response, Server};
use super::web;

/// Longest a `/wait` may block.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Longest a `/traffic` long-poll may block.
const MAX_TRAFFIC_WAIT: Duration = Duration::from_secs(30);

/// The most entries one `/traffic` answer holds.
const TRAFFIC_PAGE: usize = 1000;

/// The most `/wait`s blocked at once; one more gets 503 at once, so waits
/// never take every request slot (each blocked wait holds one thread, and
/// costs each change of the journal one O(1) check).
const MAX_WAITS: usize = 32;

/// How many `/wait`s are blocked now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// What the live view needs beside the broker: the traffic feed, and what
/// `GET /info` says (where the broker listens, filled in by the binary).
pub(crate) struct Live {
    pub(crate) feed: Arc<TrafficFeed>,
    /// `GET /info`'s answer, but for `"http"`, which the API adds once it
    /// listens.
    pub(crate) info: Value,
}

/// A running HTTP API; [`HttpApi::stop`] ends it.
pub(crate) struct HttpApi {
    server: Server,
    pub(crate) addr: SocketAddr,
}

impl HttpApi {
    pub(crate) fn start(
        addr: SocketAddr,
        broker: Arc<Broker>,
        token: Option<String>,
        faults: Arc<ArmedFaults>,
        live: Live,
    ) -> Result<HttpApi, String> {
        let token = token.map(|t| format!("Bearer {t}"));
        let info = Arc::new(OnceLock::new());
        let answered_info = info.clone();
        let Live { feed, info: base } = live;
        let handler = Arc::new(move |request: Request| {
            // The page and its assets hold no data: a browser gets them
            // without the token, and the page asks for it.
            if let Some(page) = web::serve(&request) {
                return page;
            }
            if let Some(expected) = &token {
                if !authorized(&request, expected) {
                    let refused = "this API needs the header Authorization: Bearer TOKEN";
                    return answer((401, json!({ "error": refused })));
                }
            }
            let info = answered_info.get().unwrap_or(&Value::Null);
            serve(request, &broker, &faults, &feed, info)
        });
        let server = Server::start(addr, handler)
            .map_err(|e| format!("cannot listen for HTTP on {addr}: {e}"))?;
        let mut base = base;
        base["http"] = json!(server.addr.to_string());
        let _ = info.set(base);
        Ok(HttpApi {
            addr: server.addr,
            server,
        })
    }

    pub(crate) fn stop(self) {
        self.server.stop();
    }
}

type Answer = (u16, Value);

/// Whether `request` carries the expected `Authorization` value (compared
/// in constant time, so its timing does not reveal the token).
fn authorized(request: &Request, expected: &str) -> bool {
    let Some(given) = request.header("Authorization").map(str::as_bytes) else {
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

fn serve(
    request: Request,
    broker: &Arc<Broker>,
    faults: &ArmedFaults,
    feed: &TrafficFeed,
    info: &Value,
) -> Response {
    let (path, query) = split_url(&request.target);
    if request.method == "GET" {
        let answered = match path.as_str() {
            "/wait" => Some(wait(broker, &query).map(answer)),
            "/traffic" => Some(traffic(feed, &query).map(answer)),
            "/info" => Some(Ok(answer((200, info.clone())))),
            "/messages" => Some(messages(broker, &query)),
            "/report" => Some(Ok(Response::bytes(
                200,
                "text/plain; charset=utf-8",
                broker.report().into_bytes(),
            ))),
            _ if path.starts_with("/messages/") && path.ends_with("/body") => {
                Some(message_body(broker, &path))
            }
            _ => None,
        };
        if let Some(answered) = answered {
            return answered.unwrap_or_else(|message| answer(bad_request(message)));
        }
    }
    let body = String::from_utf8_lossy(&request.body);
    let answered = match lifecycle(&request.method, &path, &query, &body, broker, faults) {
        Some(answered) => answered,
        None => route(&request.method, &path, &query, &body, broker),
    };
    answer(answered.unwrap_or_else(bad_request))
}

/// A JSON answer.
fn answer((status, value): Answer) -> Response {
    Response::bytes(status, "application/json", value.to_string().into_bytes())
}

/// `GET /messages[?destination=D][&after=SEQ][&limit=N]`, streamed.
fn messages(broker: &Arc<Broker>, query: &HashMap<String, String>) -> Result<Response, String> {
    if !broker.inspect(|j| j.is_recording()) {
        return Ok(answer((409, json!({ "error": NOT_RECORDING }))));
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
    let pages = MessagePages::new(broker.clone(), destination, after, limit);
    Ok(Response::stream("application/json", pages))
}

/// `GET /messages/ID/body`: one message's body as it was sent, with its
/// `content-type` if it had one (and it is a valid header value).
fn message_body(broker: &Broker, path: &str) -> Result<Response, String> {
    let id = path
        .strip_prefix("/messages/")
        .and_then(|rest| rest.strip_suffix("/body"))
        .unwrap_or_default();
    let found = broker.inspect(|j| {
        j.published()
            .chain(j.uncommitted())
            .find(|m| m.message_id == id)
            .map(|m| {
                let content_type = m
                    .headers
                    .get("content-type")
                    .filter(|t| t.bytes().all(|b| (b' '..=b'~').contains(&b)))
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                (content_type, m.body.to_vec())
            })
    });
    Ok(match found {
        Some((content_type, body)) => Response::bytes(200, &content_type, body),
        None => answer((
            404,
            json!({ "error": format!("no message '{id}' in the journal") }),
        )),
    })
}

/// The answer for history when the broker does not record it.
const NOT_RECORDING: &str = "recording is off: this broker keeps no history (the config file's [journal] recording = false)";

fn bad_request(message: String) -> Answer {
    (400, json!({ "error": message }))
}

fn route(
    method: &str,
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
        ("GET", "/") => Ok((200, index())),
        ("POST", "/messages") => inject(broker, body),
        ("GET", "/messages/uncommitted") => recorded(
            broker
                .uncommitted()
                .map(|all| all.iter().map(json::message).collect()),
        ),
        ("GET", "/deliveries") => recorded(
            broker
                .deliveries()
                .map(|all| all.iter().map(json::delivery).collect()),
        ),
        ("GET", "/acks") => recorded(broker.acks().map(|all| all.iter().map(json::ack).collect())),
        ("GET", "/subscriptions") => list(
            broker
                .subscriptions()
                .iter()
                .map(json::subscription)
                .collect(),
        ),
        ("GET", "/transactions") => list(
            broker
                .transactions()
                .iter()
                .map(json::transaction)
                .collect(),
        ),
        ("GET", "/transactions/history") => list(
            broker
                .transaction_history()
                .iter()
                .map(json::ended_transaction)
                .collect(),
        ),
        ("GET", "/connections") => {
            list(broker.connections().iter().map(json::connection).collect())
        }
        ("GET", "/clients") => {
            list(broker.inspect(|j| j.clients().iter().map(json::client).collect()))
        }
        ("GET", "/errors") => list(broker.errors_sent().iter().map(json::error).collect()),
        ("GET", "/protocol-warnings") => list(
            broker
                .protocol_warnings()
                .iter()
                .map(json::protocol_warning)
                .collect(),
        ),
        ("GET", "/durable-subscriptions") => list(
            broker
                .durable_subscriptions()
                .iter()
                .map(json::durable)
                .collect(),
        ),
        ("GET", "/auth-failures") => list(
            broker
                .auth_failures()
                .iter()
                .map(json::auth_failure)
                .collect(),
        ),
        ("GET", "/permission-denials") => list(
            broker
                .permission_denials()
                .iter()
                .map(json::denial)
                .collect(),
        ),
        ("GET", "/queues") => list(match destination {
            Some(d) => vec![json::queue(&broker.queue(d))],
            None => broker.queues().iter().map(json::queue).collect(),
        }),
        ("GET", "/memory") => Ok((200, json::memory(&broker.memory()))),
        ("POST", "/reset") => {
            broker.reset();
            if query.get("queues").map(String::as_str) == Some("true") {
                broker.clear_queues();
            }
            Ok((200, json!({ "reset": true })))
        }
        ("GET", _) if path.starts_with("/connections/") && path.ends_with("/frames") => {
            frames(broker, path)
        }
        _ => Ok((
            404,
            json!({ "error": format!("no such endpoint: {method} {path} (GET / lists them)") }),
        )),
    }
}

/// Faults, kicks, restarts: `None` for another endpoint.
fn lifecycle(
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    body: &str,
    broker: &Broker,
    faults: &ArmedFaults,
) -> Option<Result<Answer, String>> {
    let answered = match (method, path) {
        ("POST", "/faults") => {
            let rule: Value = match serde_json::from_str(body) {
                Ok(rule) => rule,
                Err(e) => return Some(Err(format!("the body is not JSON: {e}"))),
            };
            faults.arm(broker, &rule).map(|record| (201, record))
        }
        ("GET", "/faults") => Ok((200, Value::Array(faults.list()))),
        ("DELETE", _) if path.starts_with("/faults/") => {
            let id = &path["/faults/".len()..];
            match id.parse() {
                Ok(id) if faults.remove(id) => Ok((200, json!({ "removed": id }))),
                _ => Ok((404, json!({ "error": format!("no fault {id}") }))),
            }
        }
        ("POST", _) if path.starts_with("/connections/") && path.ends_with("/kick") => {
            kick(broker, path, body)
        }
        ("POST", "/restart") => restart(broker, query),
        ("DELETE", "/queues") => {
            broker.clear_queues();
            Ok((200, json!({ "cleared": true })))
        }
        ("POST", "/pause") => {
            broker.pause_accepting();
            Ok((200, json!({ "accepting": false })))
        }
        ("POST", "/resume") => broker
            .resume_accepting()
            .map(|()| (200, json!({ "accepting": true })))
            .map_err(|e| e.to_string()),
        _ => return None,
    };
    Some(answered)
}

fn kick(broker: &Broker, path: &str, body: &str) -> Result<Answer, String> {
    let id = path
        .strip_prefix("/connections/")
        .and_then(|rest| rest.strip_suffix("/kick"))
        .unwrap_or_default();
    let Ok(id) = id.parse() else {
        return Err(format!("\"{id}\" is not a connection number"));
    };
    let error = match body.trim() {
        "" => None,
        body => match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(fields)) => match fields.get("error") {
                None => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(_) => return Err("\"error\" is a string".to_owned()),
            },
            _ => return Err("the body is a JSON object, as {\"error\": TEXT}".to_owned()),
        },
    };
    if broker.kick(id, error.as_deref()) {
        Ok((200, json!({ "kicked": id })))
    } else {
        Ok((404, json!({ "error": format!("no open connection {id}") })))
    }
}

fn restart(broker: &Broker, query: &HashMap<String, String>) -> Result<Answer, String> {
    let mut restart = stompbox::Restart::default();
    if query.get("wipe_queues").map(String::as_str) == Some("true") {
        restart = restart.wiping_queues();
    }
    if let Some(ms) = query.get("down_ms") {
        let ms: u64 = ms.parse().map_err(|_| "down_ms is a number".to_owned())?;
        if ms > MAX_WAIT.as_millis() as u64 {
            return Err(format!("down_ms is at most {}", MAX_WAIT.as_millis()));
        }
        restart = restart.down_for(Duration::from_millis(ms));
    }
    broker.restart_with(restart).map_err(|e| e.to_string())?;
    Ok((200, json!({ "restarted": true })))
}

fn index() -> Value {
    json!({
        "endpoints": [
            "GET /messages[?destination=D][&after=SEQ][&limit=N]", "GET /messages/ID/body",
            "GET /messages/uncommitted",
            "POST /messages {destination, body, headers}",
            "GET /deliveries", "GET /acks", "GET /subscriptions", "GET /transactions",
            "GET /transactions/history", "GET /connections", "GET /connections/ID/frames",
            "GET /clients", "GET /durable-subscriptions", "GET /report",
            "GET /errors", "GET /protocol-warnings", "GET /auth-failures",
            "GET /permission-denials",
            "GET /queues[?destination=D]", "GET /memory", "POST /reset[?queues=true]",
            "GET /wait?destination=D&count=N&timeout_ms=T",
            "GET /wait?client=ID&reconnects=N&timeout_ms=T",
            "POST /faults {kind, ...}", "GET /faults", "DELETE /faults/ID",
            "POST /connections/ID/kick [{error}]",
            "POST /restart[?wipe_queues=true][&down_ms=N]", "POST /pause", "POST /resume",
            "GET /traffic[?after=SEQ][&timeout_ms=T][&connection=ID][&destination=D][&command=C]",
            "GET /info", "DELETE /queues", "GET / (the web view, for a browser)",
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

/// `GET /traffic`: the feed's entries after `after`, long-polled.
fn traffic(feed: &TrafficFeed, query: &HashMap<String, String>) -> Result<Answer, String> {
    let filter = Filter {
        connection: query
            .get("connection")
            .map(|c| {
                c.parse()
                    .map_err(|_| format!("connection must be a number, got {c:?}"))
            })
            .transpose()?,
        destination: query.get("destination").cloned(),
        command: query.get("command").map(|c| c.to_ascii_uppercase()),
    };
    let after = number(query, "after", 0)?;
    let limit = usize::try_from(number(query, "limit", TRAFFIC_PAGE as u64)?)
        .unwrap_or(TRAFFIC_PAGE)
        .clamp(1, TRAFFIC_PAGE);
    let wait = Duration::from_millis(number(query, "timeout_ms", 0)?).min(MAX_TRAFFIC_WAIT);
    if !wait.is_zero() && WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITS {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        let busy = format!("{MAX_WAITS} waits are blocked already; try again");
        return Ok((503, json!({ "error": busy })));
    }
    let page = feed.read(after, &filter, limit, wait);
    if !wait.is_zero() {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
    let entries: Vec<Value> = page.entries.iter().map(json::feed_entry).collect();
    Ok((
        200,
        json!({ "entries": entries, "next": page.next, "missed": page.missed }),
    ))
}

fn wait(broker: &Broker, query: &HashMap<String, String>) -> Result<Answer, String> {
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITS {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        let busy = format!("{MAX_WAITS} waits are blocked already; try again");
        return Ok((503, json!({ "error": busy })));
    }
    let answer = match query.get("client") {
        Some(client) => wait_for_reconnects(broker, client, query),
        None => wait_for_messages(broker, query),
    };
    WAITING.fetch_sub(1, Ordering::SeqCst);
    answer
}

/// The query's `name` as a whole number, `default` when absent.
fn number(query: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, String> {
    query.get(name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| format!("{name} must be a whole number, got {v:?}"))
    })
}

fn timeout(query: &HashMap<String, String>) -> Result<Duration, String> {
    Ok(Duration::from_millis(number(query, "timeout_ms", 5000)?).min(MAX_WAIT))
}

fn wait_for_reconnects(
    broker: &Broker,
    client: &str,
    query: &HashMap<String, String>,
) -> Result<Answer, String> {
    let count = usize::try_from(number(query, "reconnects", 1)?).map_err(|e| e.to_string())?;
    match broker.wait_for_reconnects(client, count, timeout(query)?) {
        Ok(record) => Ok((200, json!({ "client": json::client(&record) }))),
        Err(e @ Error::Timeout(_)) => Ok((408, json!({ "error": e.to_string() }))),
        Err(e) => Err(e.to_string()),
    }
}

fn wait_for_messages(broker: &Broker, query: &HashMap<String, String>) -> Result<Answer, String> {
    let destination = query
        .get("destination")
        .ok_or("destination (or client) is required")?;
    let count = usize::try_from(number(query, "count", 1)?).map_err(|e| e.to_string())?;
    let timeout = timeout(query)?;
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
