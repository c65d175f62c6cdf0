//! The journal as JSON, for the HTTP API.

use serde_json::{Map, Value, json};
use stompbox::frame::{Frame, Headers};
use stompbox::journal::{
    AckRecord, AuthFailure, ConnectionInfo, DeliveryRecord, DurableSubscription, ErrorRecord,
    FrameRecord, MemoryUsage, Origin, PermissionDenial, ProtocolWarning, PublishedMessage,
    QueueSnapshot, QueuedMessage, SubscriptionInfo, TransactionInfo, TransactionRecord,
};

fn headers(headers: &Headers) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect(),
    )
}

/// A body as JSON: text when it is UTF-8 (`"body"`), otherwise base64
/// (`"body": null, "body_base64"`), so a binary body grows by a third rather
/// than six-fold as escaped replacement characters.
fn with_body(mut value: Value, bytes: &[u8]) -> Value {
    use base64::Engine as _;
    let object = value.as_object_mut().expect("an object");
    match std::str::from_utf8(bytes) {
        Ok(text) => object.insert("body".into(), Value::String(text.to_owned())),
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            object.insert("body".into(), Value::Null);
            object.insert("body_base64".into(), Value::String(encoded))
        }
    };
    value
}

fn millis(at: std::time::Duration) -> f64 {
    at.as_secs_f64() * 1000.0
}

pub(crate) fn frame(frame: &Frame) -> Value {
    let value = json!({
        "command": frame.command().to_string(),
        "headers": headers(frame.headers()),
    });
    with_body(value, frame.body())
}

/// Where a message came from, one shape with a `kind`:
/// `{"kind": "client", "connection": 1, "login": .., "client_id": ..}` or
/// `{"kind": "injected"}` or `{"kind": "dead-letter", "of": SEQ, "reason": ..}`.
fn origin(origin: &Origin) -> Value {
    match origin {
        Origin::Client {
            connection,
            login,
            client_id,
        } => {
            json!({"kind": "client", "connection": connection, "login": login, "client_id": client_id})
        }
        Origin::DeadLetter { of, reason } => {
            json!({"kind": "dead-letter", "of": of, "reason": reason})
        }
        _ => json!({"kind": "injected"}),
    }
}

pub(crate) fn message(m: &PublishedMessage) -> Value {
    let deliveries: Vec<Value> = m
        .deliveries
        .iter()
        .map(|r| {
            json!({"connection": r.connection, "subscription": r.subscription, "redelivered": r.redelivered})
        })
        .collect();
    let value = json!({
        "seq": m.seq,
        "message_id": m.message_id,
        "destination": m.destination,
        "headers": headers(&m.headers),
        "origin": origin(&m.origin),
        "transaction": m.transaction,
        "at_ms": millis(m.at),
        "status": status(m.status),
        "deliveries": deliveries,
    });
    with_body(value, &m.body)
}

pub(crate) fn delivery(d: &DeliveryRecord) -> Value {
    json!({
        "seq": d.seq, "message_id": d.message_id, "destination": d.destination,
        "connection": d.connection, "subscription": d.subscription,
        "redelivered": d.redelivered, "delivery_count": d.delivery_count, "at_ms": millis(d.at),
    })
}

pub(crate) fn ack(a: &AckRecord) -> Value {
    json!({
        "kind": a.kind.to_string(), "seq": a.seq, "message_id": a.message_id,
        "connection": a.connection, "subscription": a.subscription,
        "transaction": a.transaction, "at_ms": millis(a.at),
    })
}

pub(crate) fn subscription(s: &SubscriptionInfo) -> Value {
    json!({
        "connection": s.connection, "id": s.id, "destination": s.destination,
        "ack": s.ack.to_string(), "selector": s.selector, "headers": headers(&s.headers),
        "delivered": s.delivered, "acked": s.acked, "nacked": s.nacked, "unacked": s.unacked,
    })
}

pub(crate) fn transaction(t: &TransactionInfo) -> Value {
    json!({
        "connection": t.connection, "id": t.id,
        "frames": t.frames.iter().map(frame).collect::<Vec<_>>(),
        "begun_at_ms": millis(t.begun_at),
    })
}

pub(crate) fn ended_transaction(t: &TransactionRecord) -> Value {
    json!({
        "connection": t.connection, "id": t.id, "outcome": t.outcome.to_string(),
        "frames": t.frames.iter().map(frame).collect::<Vec<_>>(), "at_ms": millis(t.at),
    })
}

pub(crate) fn connection(c: &ConnectionInfo) -> Value {
    let closed = c
        .closed
        .as_ref()
        .map(|(at, reason)| json!({"at_ms": millis(*at), "reason": reason.to_string()}));
    let websocket = c.websocket.as_ref().map(|w| {
        json!({
            "path": w.path, "subprotocol": w.subprotocol,
            "headers": w.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": c.id, "peer": c.peer.to_string(), "transport": c.transport, "websocket": websocket,
        "login": c.login, "client_id": c.client_id,
        "principal": c.principal, "headers": headers(&c.headers),
        "version": c.version.map(|v| v.to_string()),
        "heart_beat": [c.heart_beat.0, c.heart_beat.1],
        "subscribed": c.subscribed.iter().map(|(d, ack)| json!({"destination": d, "ack": ack.to_string()})).collect::<Vec<_>>(),
        "opened_at_ms": millis(c.opened_at), "closed": closed,
    })
}

pub(crate) fn client(c: &stompbox::journal::ClientRecord) -> Value {
    json!({
        "identity": c.identity, "connections": c.connections, "reconnects": c.reconnects(),
        "reconnect_gaps_ms": c.reconnect_gaps.iter().map(|g| millis(*g)).collect::<Vec<_>>(),
    })
}

/// An entry of the live traffic feed: `{"seq", "at_ms", "connection",
/// "direction", "frame": {..}}`, or `"closed": REASON` (and no frame).
pub(crate) fn feed_entry(e: &super::feed::Entry) -> Value {
    let mut entry = Map::new();
    entry.insert("seq".into(), json!(e.seq));
    entry.insert("at_ms".into(), json!(millis(e.at)));
    entry.insert("connection".into(), json!(e.connection));
    entry.insert(
        "direction".into(),
        json!(match e.direction {
            stompbox::journal::Direction::In => "in",
            _ => "out",
        }),
    );
    match (&e.frame, &e.closed) {
        (Some(f), _) => entry.insert("frame".into(), frame(f)),
        (None, reason) => entry.insert("closed".into(), json!(reason)),
    };
    Value::Object(entry)
}

pub(crate) fn frame_record(f: &FrameRecord) -> Value {
    let mut entry = Map::new();
    entry.insert("at_ms".into(), json!(millis(f.at)));
    entry.insert(
        "direction".into(),
        json!(match f.direction {
            stompbox::journal::Direction::In => "in",
            _ => "out",
        }),
    );
    match &f.frame {
        Some(f) => entry.insert("frame".into(), frame(f)),
        None => entry.insert("heart_beat".into(), json!(true)),
    };
    if f.message_evicted {
        entry.insert("message_evicted".into(), json!(true));
    }
    Value::Object(entry)
}

pub(crate) fn memory(m: &MemoryUsage) -> Value {
    json!({
        "budget": m.budget, "in_use": m.in_use, "messages": m.messages, "queued": m.queued,
        "in_transactions": m.in_transactions, "journal": m.journal,
    })
}

pub(crate) fn error(e: &ErrorRecord) -> Value {
    json!({"connection": e.connection, "message": e.message, "receipt_id": e.receipt_id, "at_ms": millis(e.at)})
}

pub(crate) fn protocol_warning(w: &ProtocolWarning) -> Value {
    json!({"connection": w.connection, "warning": w.warning, "at_ms": millis(w.at)})
}

pub(crate) fn durable(d: &DurableSubscription) -> Value {
    json!({
        "name": d.name, "topic": d.topic, "selector": d.selector,
        "active": d.active, "waiting": d.waiting,
    })
}

pub(crate) fn auth_failure(f: &AuthFailure) -> Value {
    json!({
        "connection": f.connection, "login": f.login, "client_id": f.client_id,
        "reason": f.reason, "simulated": f.simulated, "at_ms": millis(f.at),
    })
}

pub(crate) fn denial(d: &PermissionDenial) -> Value {
    json!({
        "connection": d.connection, "principal": d.principal, "command": d.command.to_string(),
        "destination": d.destination, "topic": d.topic, "needed": d.needed.to_string(),
        "at_ms": millis(d.at),
    })
}

fn queued(m: &QueuedMessage) -> Value {
    let value = json!({"message_id": m.message_id, "headers": headers(&m.headers)});
    with_body(value, &m.body)
}

pub(crate) fn queue(q: &QueueSnapshot) -> Value {
    json!({
        "destination": q.destination,
        "waiting": q.waiting.iter().map(queued).collect::<Vec<_>>(),
        "unacked": q.unacked.iter().map(queued).collect::<Vec<_>>(),
    })
}

/// A message's status as one kebab-case word: `queued`, `unacked`,
/// `consumed`, `dropped`, `in-transaction`, `discarded`, `rolled-back`.
fn status(status: stompbox::journal::MessageStatus) -> String {
    let debug = format!("{status:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
