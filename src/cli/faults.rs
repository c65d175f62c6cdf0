//! Faults for the binary: a rule as JSON (the HTTP API's `POST /faults`,
//! and the config file's `[[faults]]` tables), one key per part of the Rust
//! builder, and the faults armed so far, kept until removed.
//!
//! ```json
//! {"kind": "drop", "direction": "out", "command": "RECEIPT",
//!  "destination": "/queue/a", "after": 0, "times": 1}
//! ```
//!
//! `kind` is one of [`KINDS`], with its parameter where it has one (`ms`;
//! `min_ms` and `max_ms`; `message`; `max_piece`; `bytes_per_second`).
//! Frames: `direction` (`in`/`out`, else the command's own: client commands
//! come in, server ones go out), `command` or `commands`, `destination`,
//! `headers` (an object), `body_contains`. Connections: `connection`,
//! `login`, `client_id`, `principal`. When: `after`, `times` (a number, or
//! `"always"`), `probability`, `seed`. Anything else is refused, named.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use stompbox::frame::Command;
use stompbox::journal::Direction;
use stompbox::{Broker, Fault, FaultHandle};

/// The kinds a rule may name.
pub(crate) const KINDS: &[&str] = &[
    "drop",
    "delay",
    "jitter",
    "duplicate",
    "error",
    "close",
    "reset",
    "split",
    "throttle",
    "corrupt",
    "stop_heart_beats",
    "black_hole",
];

/// The keys every rule may have; each kind adds its parameters.
const KEYS: &[&str] = &[
    "kind",
    "direction",
    "command",
    "commands",
    "destination",
    "headers",
    "body_contains",
    "connection",
    "login",
    "client_id",
    "principal",
    "after",
    "times",
    "probability",
    "seed",
];

/// A rule from its JSON.
pub(crate) fn parse(rule: &Value) -> Result<Fault, String> {
    let Value::Object(rule) = rule else {
        return Err("a fault is a JSON object, as {\"kind\": \"drop\"}".to_owned());
    };
    let kind = text(rule, "kind")?.ok_or("a fault needs a \"kind\"")?;
    let (fault, parameters) = kind_of(kind, rule)?;
    if let Some(unknown) = rule
        .keys()
        .find(|k| !KEYS.contains(&k.as_str()) && !parameters.contains(&k.as_str()))
    {
        let mut known: Vec<&str> = KEYS.to_vec();
        known.extend(parameters);
        return Err(format!(
            "unknown key \"{unknown}\" in a {kind} fault (known: {})",
            known.join(", ")
        ));
    }
    let fault = frames(fault, rule)?;
    let fault = connections(fault, rule)?;
    counts(fault, rule)
}

/// The fault of `kind`, with its parameters read, and their names.
fn kind_of(
    kind: &str,
    rule: &Map<String, Value>,
) -> Result<(Fault, &'static [&'static str]), String> {
    let ms = |key: &str| -> Result<Duration, String> {
        number(rule, key)?
            .map(Duration::from_millis)
            .ok_or_else(|| format!("a {kind} fault needs \"{key}\" (milliseconds)"))
    };
    Ok(match kind {
        "drop" => (Fault::drop(), &[]),
        "delay" => (Fault::delay(ms("ms")?), &["ms"]),
        "jitter" => (
            Fault::jitter(ms("min_ms")?, ms("max_ms")?),
            &["min_ms", "max_ms"],
        ),
        "duplicate" => (Fault::duplicate(), &[]),
        "error" => {
            let message = text(rule, "message")?.unwrap_or("injected fault");
            (Fault::error(message), &["message"])
        }
        "close" => (Fault::close(), &[]),
        "reset" => (Fault::reset(), &[]),
        "split" => {
            let max = number(rule, "max_piece")?.unwrap_or(1);
            (
                Fault::split(usize::try_from(max).unwrap_or(usize::MAX)),
                &["max_piece"],
            )
        }
        "throttle" => {
            let rate = number(rule, "bytes_per_second")?
                .ok_or("a throttle fault needs \"bytes_per_second\"")?;
            (Fault::throttle(rate), &["bytes_per_second"])
        }
        "corrupt" => (Fault::corrupt(), &[]),
        "stop_heart_beats" => (Fault::stop_heart_beats(), &[]),
        "black_hole" => (Fault::black_hole(), &[]),
        other => {
            return Err(format!(
                "unknown fault kind \"{other}\" (known: {})",
                KINDS.join(", ")
            ));
        }
    })
}

fn frames(mut fault: Fault, rule: &Map<String, Value>) -> Result<Fault, String> {
    let direction = match text(rule, "direction")? {
        None => None,
        Some("in") => Some(Direction::In),
        Some("out") => Some(Direction::Out),
        Some(other) => {
            return Err(format!(
                "\"direction\" is \"in\" or \"out\", not \"{other}\""
            ));
        }
    };
    let mut commands: Vec<String> = text(rule, "command")?
        .map(str::to_owned)
        .into_iter()
        .collect();
    match rule.get("commands") {
        None => {}
        Some(Value::Array(list)) => {
            for command in list {
                let command = command
                    .as_str()
                    .ok_or("\"commands\" is a list of strings")?;
                commands.push(command.to_owned());
            }
        }
        Some(_) => return Err("\"commands\" is a list of strings".to_owned()),
    }
    if commands.is_empty() {
        if let Some(direction) = direction {
            fault = fault.direction(direction);
        }
    }
    for name in commands {
        let command = Command::parse(&name.to_ascii_uppercase());
        let way = direction.unwrap_or(if is_from_server(&command) {
            Direction::Out
        } else {
            Direction::In
        });
        fault = match way {
            Direction::In => fault.inbound(command),
            Direction::Out => fault.outbound(command),
        };
    }
    if let Some(destination) = text(rule, "destination")? {
        fault = fault.on_destination(destination);
    }
    match rule.get("headers") {
        None => {}
        Some(Value::Object(headers)) => {
            for (name, value) in headers {
                let value = value
                    .as_str()
                    .ok_or("\"headers\" is an object of strings")?;
                fault = fault.with_header(name, value);
            }
        }
        Some(_) => return Err("\"headers\" is an object of strings".to_owned()),
    }
    if let Some(part) = text(rule, "body_contains")? {
        fault = fault.body_contains(part);
    }
    Ok(fault)
}

fn is_from_server(command: &Command) -> bool {
    matches!(
        command,
        Command::Connected | Command::Message | Command::Receipt | Command::Error
    )
}

fn connections(mut fault: Fault, rule: &Map<String, Value>) -> Result<Fault, String> {
    if let Some(connection) = number(rule, "connection")? {
        fault = fault.connection(connection);
    }
    if let Some(login) = text(rule, "login")? {
        fault = fault.login(login);
    }
    if let Some(client_id) = text(rule, "client_id")? {
        fault = fault.client_id(client_id);
    }
    if let Some(principal) = text(rule, "principal")? {
        fault = fault.principal(principal);
    }
    Ok(fault)
}

fn counts(mut fault: Fault, rule: &Map<String, Value>) -> Result<Fault, String> {
    if let Some(after) = number(rule, "after")? {
        fault = fault.after(usize::try_from(after).unwrap_or(usize::MAX));
    }
    match rule.get("times") {
        None => {}
        Some(Value::String(always)) if always == "always" => fault = fault.always(),
        Some(times) => match times.as_u64() {
            Some(n) => fault = fault.times(usize::try_from(n).unwrap_or(usize::MAX)),
            None => return Err("\"times\" is a number, or \"always\"".to_owned()),
        },
    }
    match rule.get("probability") {
        None => {}
        Some(p) => match p.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => fault = fault.with_probability(p),
            _ => return Err("\"probability\" is a number from 0 to 1".to_owned()),
        },
    }
    if let Some(seed) = number(rule, "seed")? {
        fault = fault.seed(seed);
    }
    Ok(fault)
}

fn text<'a>(rule: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match rule.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("\"{key}\" is a string")),
    }
}

fn number(rule: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match rule.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("\"{key}\" is a whole number")),
    }
}

/// The faults armed through the binary, each until removed.
#[derive(Default)]
pub(crate) struct ArmedFaults(Mutex<BTreeMap<u64, FaultHandle>>);

impl ArmedFaults {
    /// Arms the rule `json` describes; its record.
    pub(crate) fn arm(&self, broker: &Broker, json: &Value) -> Result<Value, String> {
        self.arm_fault(broker, parse(json)?)
    }

    /// Arms `fault`; its record.
    pub(crate) fn arm_fault(&self, broker: &Broker, fault: Fault) -> Result<Value, String> {
        let handle = broker.try_inject(fault).map_err(|e| e.to_string())?;
        let record = record(&handle);
        self.0.lock().insert(handle.id(), handle);
        Ok(record)
    }

    /// Every armed fault, with what it has done.
    pub(crate) fn list(&self) -> Vec<Value> {
        self.0.lock().values().map(record).collect()
    }

    /// Removes fault `id`; false if there is none.
    pub(crate) fn remove(&self, id: u64) -> bool {
        self.0.lock().remove(&id).is_some()
    }
}

fn record(handle: &FaultHandle) -> Value {
    let hits: Vec<Value> = handle
        .hits()
        .iter()
        .map(|hit| {
            json!({
                "connection": hit.connection,
                "direction": hit.direction.map(|d| if d == Direction::In { "in" } else { "out" }),
                "command": hit.command.as_ref().map(Command::as_str),
                "destination": hit.destination,
                "message_id": hit.message_id,
            })
        })
        .collect();
    json!({
        "id": handle.id(),
        "fault": handle.fault().to_string(),
        "fired": handle.fired(),
        "seed": handle.seed(),
        "hits": hits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(rule: Value) -> String {
        parse(&rule).map(|f| f.to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn rules_read_as_the_builder_writes_them() {
        assert_eq!(
            described(
                json!({"kind": "drop", "direction": "out", "command": "RECEIPT",
                "destination": "/queue/a", "after": 2, "times": 1})
            ),
            "drop outbound RECEIPT on /queue/a after 2, once"
        );
        assert_eq!(
            described(
                json!({"kind": "error", "message": "no", "command": "SEND", "times": "always"})
            ),
            "error inbound SEND, always",
            "a client command comes in"
        );
        assert_eq!(
            described(json!({"kind": "delay", "ms": 50, "commands": ["MESSAGE", "receipt"]})),
            "delay outbound MESSAGE outbound RECEIPT, once"
        );
        assert_eq!(
            described(json!({"kind": "black_hole", "connection": 3})),
            "black hole on connection 3, once"
        );
    }

    #[test]
    fn unknown_keys_and_kinds_are_named() {
        assert_eq!(
            described(json!({"kind": "explode"})),
            format!(
                "unknown fault kind \"explode\" (known: {})",
                KINDS.join(", ")
            )
        );
        let err = described(json!({"kind": "delay", "ms": 5, "msec": 5}));
        assert!(
            err.starts_with("unknown key \"msec\" in a delay fault (known: kind,"),
            "{err}"
        );
        assert!(err.ends_with("seed, ms)"), "{err}");
        assert_eq!(
            described(json!({"kind": "delay"})),
            "a delay fault needs \"ms\" (milliseconds)"
        );
        assert_eq!(
            described(json!({"kind": "drop", "times": -1})),
            "\"times\" is a number, or \"always\""
        );
        assert_eq!(
            described(json!(["drop"])),
            "a fault is a JSON object, as {\"kind\": \"drop\"}"
        );
    }
}
