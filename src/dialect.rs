//! Where brokers differ beyond the protocol: selectors, wildcards, expiry,
//! redelivery and dead letters, temporary destinations. A broker follows
//! one [`Dialect`]; the default follows ActiveMQ where the real brokers
//! differ, and the profiles (`Broker::builder().activemq()`, `.rabbitmq()`,
//! `.rocketmq()`) follow their broker.
//!
//! What each choice is, and what the real brokers were seen to do, is in the
//! README's "Like your broker" section and `docs/conformance.md`.

use std::sync::Arc;

/// The broker a profile imitates.
///
/// # Examples
/// ```
/// use stompbox::{Broker, Dialect};
/// let broker = Broker::builder().rabbitmq().start()?;
/// assert_eq!(broker.dialect(), Dialect::RabbitMq);
/// assert_eq!(Broker::start()?.dialect(), Dialect::Default);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// STOMP as the specification says; where it leaves room, as ActiveMQ.
    Default,
    /// Apache ActiveMQ 5 ("Classic").
    ActiveMq,
    /// RabbitMQ's STOMP plugin.
    RabbitMq,
    /// The RocketMQ STOMP gateway.
    RocketMq,
}

/// Topic wildcards on SUBSCRIBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wildcards {
    /// None: `*` is a character like any other.
    Off,
    /// ActiveMQ: `.`-separated elements; `*` is one element, `>` the rest
    /// (zero or more).
    ActiveMq,
    /// RabbitMQ: `.`-separated words; `*` is one word, `#` zero or more.
    RabbitMq,
}

/// What the `selector` header of a SUBSCRIBE does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selectors {
    /// Parsed and applied (ActiveMQ).
    Evaluate,
    /// Accepted and ignored (RabbitMQ).
    Ignore,
}

/// Which header makes a message expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// ActiveMQ's `expires`: milliseconds since the epoch, 0 for never.
    Expires,
    /// RabbitMQ's `expiration`: milliseconds to live from when it is sent.
    Expiration,
}

/// What a NACK of a queue message does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nack {
    /// Back to the queue for redelivery, until the redelivery limit.
    Redeliver,
    /// ActiveMQ: a "poison ack": to the dead-letter queue at once when the
    /// message is persistent, discarded when not.
    Poison,
    /// RabbitMQ: redelivered unless the NACK says `requeue:false`, then gone.
    Requeue,
}

/// How a `/temp-queue/` in `reply-to` is rewritten for the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TempNames {
    /// `/remote-temp-queue/ID:...` (ActiveMQ).
    ActiveMq,
    /// `/reply-queue/amq.gen-...` (RabbitMQ).
    RabbitMq,
}

/// Every choice of one dialect.
#[derive(Clone, Debug)]
pub(crate) struct Semantics {
    pub(crate) dialect: Dialect,
    pub(crate) wildcards: Wildcards,
    /// ActiveMQ: a SUBSCRIBE to `/queue/a.>` consumes from every queue the
    /// pattern matches (RabbitMQ's queue names are only names).
    pub(crate) queue_wildcards: bool,
    pub(crate) selectors: Selectors,
    pub(crate) expiry: Expiry,
    pub(crate) nack: Nack,
    /// Deliveries after the first before a message is dead-lettered.
    pub(crate) max_redeliveries: Option<u32>,
    /// Where dead letters go; `None`: they are dropped.
    pub(crate) dead_letter_queue: Option<Arc<str>>,
    /// Dead-letter only persistent messages (ActiveMQ's default
    /// `processNonPersistent=false`): others are dropped.
    pub(crate) dead_letter_persistent_only: bool,
    pub(crate) temp_names: TempNames,
    /// RabbitMQ's destination prefixes: an unknown one is an ERROR.
    pub(crate) rabbitmq_destinations: bool,
    /// RabbitMQ's virtual hosts: the CONNECT `host` must name one.
    pub(crate) vhosts: Option<Vec<String>>,
    /// RabbitMQ: exchanges declared besides the `amq.*` ones, and their
    /// type.
    pub(crate) exchanges: Vec<(String, ExchangeType)>,
    /// ActiveMQ's composite destinations: a SEND to `/queue/a,/topic/b`
    /// goes to each (see [`composite_parts`]).
    pub(crate) composite_destinations: bool,
}

impl Semantics {
    /// The default: ActiveMQ's where brokers differ, except that a NACK
    /// redelivers (as RabbitMQ's does, and as a client that NACKs to retry
    /// expects), up to the redelivery limit.
    pub(crate) fn default_broker() -> Semantics {
        Semantics {
            dialect: Dialect::Default,
            wildcards: Wildcards::ActiveMq,
            queue_wildcards: true,
            selectors: Selectors::Evaluate,
            expiry: Expiry::Expires,
            nack: Nack::Redeliver,
            max_redeliveries: Some(6),
            dead_letter_queue: Some(Arc::from("/queue/ActiveMQ.DLQ")),
            dead_letter_persistent_only: false,
            temp_names: TempNames::ActiveMq,
            rabbitmq_destinations: false,
            vhosts: None,
            exchanges: Vec::new(),
            composite_destinations: true,
        }
    }

    pub(crate) fn activemq() -> Semantics {
        Semantics {
            dialect: Dialect::ActiveMq,
            nack: Nack::Poison,
            dead_letter_persistent_only: true,
            ..Semantics::default_broker()
        }
    }

    pub(crate) fn rabbitmq() -> Semantics {
        Semantics {
            dialect: Dialect::RabbitMq,
            wildcards: Wildcards::RabbitMq,
            queue_wildcards: false,
            selectors: Selectors::Ignore,
            expiry: Expiry::Expiration,
            nack: Nack::Requeue,
            max_redeliveries: None,
            dead_letter_queue: None,
            dead_letter_persistent_only: false,
            temp_names: TempNames::RabbitMq,
            rabbitmq_destinations: true,
            vhosts: Some(vec!["/".to_owned()]),
            exchanges: Vec::new(),
            composite_destinations: false,
        }
    }

    pub(crate) fn rocketmq() -> Semantics {
        Semantics {
            dialect: Dialect::RocketMq,
            wildcards: Wildcards::Off,
            queue_wildcards: false,
            composite_destinations: false,
            ..Semantics::default_broker()
        }
    }
}

impl Semantics {
    /// Whether wildcards in a subscription to `topic` are wildcards: not in
    /// the key of a RabbitMQ direct exchange.
    pub(crate) fn wildcards_apply_to(&self, topic: &str) -> bool {
        if self.wildcards == Wildcards::Off {
            return false;
        }
        let exchange = topic
            .strip_prefix("/exchange/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(exchange, _)| exchange);
        match exchange {
            Some(name) if self.rabbitmq_destinations => {
                exchange_type(name, &self.exchanges) != Some(ExchangeType::Direct)
            }
            _ => true,
        }
    }
}

/// How a RabbitMQ exchange routes a message by its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeType {
    /// To the subscriptions whose key is the message's.
    Direct,
    /// To every subscription, whatever the keys.
    Fanout,
    /// To the subscriptions whose key pattern (`*`, `#`) matches.
    Topic,
}

/// The type of exchange `name`: one of every virtual host's, or one
/// declared; `None` if there is no such exchange.
fn exchange_type(name: &str, declared: &[(String, ExchangeType)]) -> Option<ExchangeType> {
    match name {
        "amq.direct" => Some(ExchangeType::Direct),
        "amq.fanout" => Some(ExchangeType::Fanout),
        // amq.headers and amq.match route by key here, as a topic exchange.
        "amq.topic" | "amq.headers" | "amq.match" => Some(ExchangeType::Topic),
        _ => declared.iter().find(|(n, _)| n == name).map(|(_, t)| *t),
    }
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics::default_broker()
    }
}

/// The destinations of an ActiveMQ composite destination, in order:
/// `/queue/a,/topic/b` is `/queue/a` and `/topic/b`; a part without a
/// prefix is a queue (`/topic/a,b` is `/topic/a` and `/queue/b`), as
/// ActiveMQ 5.17 reads it. `None` for a destination with no comma; an
/// empty part is an error.
pub(crate) fn composite_parts(destination: &str) -> Option<Result<Vec<String>, String>> {
    if !destination.contains(',') {
        return None;
    }
    let mut parts = Vec::new();
    for part in destination.split(',') {
        if part.is_empty() {
            return Some(Err(format!(
                "the composite destination '{destination}' has an empty part"
            )));
        }
        let prefixed = ["/queue/", "/topic/", "/temp-queue/", "/temp-topic/"]
            .iter()
            .any(|p| part.starts_with(p));
        parts.push(if prefixed {
            part.to_owned()
        } else {
            format!("/queue/{part}")
        });
    }
    Some(Ok(parts))
}

/// The `original-destination` ActiveMQ gives the messages of a composite
/// SEND: the first part as sent, the others in its own notation
/// (`/queue/a,topic://b,queue://c`).
pub(crate) fn composite_original(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            out.push_str(part);
            continue;
        }
        out.push(',');
        let (kind, name) = part[1..].split_once('/').unwrap_or(("queue", part));
        out.push_str(&format!("{kind}://{name}"));
    }
    out
}

/// Temporary destinations: `/temp-queue/NAME` and `/temp-topic/NAME` are
/// private to the connection that names them. Inside the broker each is a
/// destination whose name carries its owner; a `reply-to` naming one is
/// rewritten to that name, in the dialect's format, so a reply routes back.
pub(crate) mod temp {
    use super::TempNames;

    const QUEUE: &str = "/temp-queue/";
    const TOPIC: &str = "/temp-topic/";
    const ACTIVEMQ_QUEUE: &str = "/remote-temp-queue/ID:stompbox-";
    const ACTIVEMQ_TOPIC: &str = "/remote-temp-topic/ID:stompbox-";
    const RABBITMQ_QUEUE: &str = "/reply-queue/amq.gen-stompbox-";

    /// The broker's name for `destination` as connection `conn` names it,
    /// if it is one of `conn`'s temporary destinations.
    pub(crate) fn resolve(names: TempNames, conn: u64, destination: &str) -> Option<String> {
        if let Some(name) = destination.strip_prefix(QUEUE) {
            let prefix = match names {
                TempNames::ActiveMq => ACTIVEMQ_QUEUE,
                TempNames::RabbitMq => RABBITMQ_QUEUE,
            };
            return Some(format!("{prefix}{conn}:{name}"));
        }
        let name = destination.strip_prefix(TOPIC)?;
        Some(format!("{ACTIVEMQ_TOPIC}{conn}:{name}"))
    }

    /// The owner of a broker name of a temporary destination, and the name
    /// it gave it (`/temp-queue/NAME`).
    pub(crate) fn owner(destination: &str) -> Option<(u64, String)> {
        let (rest, shown) = if let Some(rest) = destination
            .strip_prefix(ACTIVEMQ_QUEUE)
            .or_else(|| destination.strip_prefix(RABBITMQ_QUEUE))
        {
            (rest, QUEUE)
        } else {
            (destination.strip_prefix(ACTIVEMQ_TOPIC)?, TOPIC)
        };
        let (conn, name) = rest.split_once(':')?;
        Some((conn.parse().ok()?, format!("{shown}{name}")))
    }

    /// Whether `destination` is a broker name of a temporary destination of
    /// connection `conn`.
    pub(crate) fn owned_by(destination: &str, conn: u64) -> bool {
        owner(destination).is_some_and(|(owner, _)| owner == conn)
    }

    /// Whether `destination` names a temporary destination as a client
    /// writes it.
    pub(crate) fn is_temp(destination: &str) -> bool {
        destination.starts_with(QUEUE) || destination.starts_with(TOPIC)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_round_trip_to_their_owner() {
            let name = resolve(TempNames::ActiveMq, 7, "/temp-queue/replies").unwrap();
            assert_eq!(name, "/remote-temp-queue/ID:stompbox-7:replies");
            assert_eq!(owner(&name), Some((7, "/temp-queue/replies".to_owned())));
            let name = resolve(TempNames::RabbitMq, 3, "/temp-queue/r").unwrap();
            assert_eq!(name, "/reply-queue/amq.gen-stompbox-3:r");
            assert!(owned_by(&name, 3) && !owned_by(&name, 4));
            assert_eq!(resolve(TempNames::ActiveMq, 1, "/queue/a"), None);
        }
    }
}

/// RabbitMQ's routing name for `destination`: `/topic/KEY` is the key KEY
/// on `amq.topic` (so `/exchange/amq.topic/KEY` meets it), a subscription to
/// a fanout exchange takes every key, `/amq/queue/NAME` is the queue
/// `/queue/NAME`. `Err(the ERROR's message and body)` for an exchange that
/// does not exist.
pub(crate) fn rabbitmq_route(
    destination: &str,
    subscribing: bool,
    exchanges: &[(String, ExchangeType)],
    vhost: &str,
) -> Result<String, (String, String)> {
    if let Some(key) = destination.strip_prefix("/topic/") {
        return Ok(format!("/exchange/amq.topic/{key}"));
    }
    if let Some(name) = destination.strip_prefix("/amq/queue/") {
        return Ok(format!("/queue/{name}"));
    }
    let Some(rest) = destination.strip_prefix("/exchange/") else {
        return Ok(destination.to_owned());
    };
    let (exchange, key) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(kind) = exchange_type(exchange, exchanges) else {
        return Err((
            "not_found".to_owned(),
            format!("NOT_FOUND - no exchange '{exchange}' in vhost '{vhost}'"),
        ));
    };
    let key = match kind {
        ExchangeType::Fanout if subscribing => "#",
        _ => key,
    };
    Ok(format!("/exchange/{exchange}/{key}"))
}

/// RabbitMQ's destination prefixes and the names after them;
/// `Err(the ERROR's message and body)` for any other.
pub(crate) fn rabbitmq_destination(destination: &str) -> Result<(), (String, String)> {
    const VALID: [&str; 6] = [
        "/temp-queue/",
        "/exchange/",
        "/topic/",
        "/queue/",
        "/amq/queue/",
        "/reply-queue/",
    ];
    if VALID.iter().any(|p| destination.starts_with(p)) {
        return rabbitmq_name(destination);
    }
    Err((
        "Unknown destination".to_owned(),
        format!(
            "'{destination}' is not a valid destination.\nValid destination types are: /temp-queue, /exchange, /topic, /queue, /amq/queue, /reply-queue/.\n"
        ),
    ))
}

/// RabbitMQ's names after a prefix: one non-empty element (no further
/// `/`), an exchange's name and at most one key; `/reply-queue/` takes any.
/// `Err` as RabbitMQ 3.10 words it: `'/a/b' is not a valid queue
/// destination`.
fn rabbitmq_name(destination: &str) -> Result<(), (String, String)> {
    const KINDS: [(&str, &str); 5] = [
        ("/queue/", "queue"),
        ("/topic/", "topic"),
        ("/amq/queue/", "amqqueue"),
        ("/temp-queue/", "temp_queue"),
        ("/exchange/", "exchange"),
    ];
    let Some((prefix, kind)) = KINDS.iter().find(|(p, _)| destination.starts_with(p)) else {
        return Ok(());
    };
    let name = &destination[prefix.len()..];
    let valid = if *kind == "exchange" {
        let (exchange, key) = name.split_once('/').unwrap_or((name, ""));
        !exchange.is_empty() && !key.contains('/')
    } else {
        !name.is_empty() && !name.contains('/')
    };
    if valid {
        return Ok(());
    }
    Err((
        "Invalid destination".to_owned(),
        format!("'/{name}' is not a valid {kind} destination\n"),
    ))
}

/// Whether topic `destination` matches subscription `pattern` under
/// `wildcards` (a pattern without wildcards matches only itself). Wildcards
/// apply to the part after the last `/`: `/topic/a.*`, or
/// `/exchange/amq.topic/a.#`.
pub(crate) fn topic_matches(wildcards: Wildcards, pattern: &str, destination: &str) -> bool {
    let (many, one) = match wildcards {
        Wildcards::Off => return pattern == destination,
        Wildcards::ActiveMq => (">", "*"),
        Wildcards::RabbitMq => ("#", "*"),
    };
    let (Some((pattern_prefix, pattern)), Some((prefix, name))) =
        (pattern.rsplit_once('/'), destination.rsplit_once('/'))
    else {
        return pattern == destination;
    };
    if pattern_prefix != prefix {
        return false;
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let name: Vec<&str> = name.split('.').collect();
    match wildcards {
        Wildcards::RabbitMq => words_match(&pattern, &name, many, one),
        _ => rest_match(&pattern, &name, many, one),
    }
}

/// Whether `destination` has a wildcard element under `wildcards`.
pub(crate) fn is_pattern(wildcards: Wildcards, destination: &str) -> bool {
    let marks: &[&str] = match wildcards {
        Wildcards::Off => return false,
        Wildcards::ActiveMq => &["*", ">"],
        Wildcards::RabbitMq => &["*", "#"],
    };
    let key = destination
        .rsplit_once('/')
        .map_or(destination, |(_, key)| key);
    key.split('.').any(|element| marks.contains(&element))
}

/// ActiveMQ: `>` matches the rest, even nothing (`a.>` matches `a`, as
/// ActiveMQ 5.17 was seen to do).
fn rest_match(pattern: &[&str], name: &[&str], many: &str, one: &str) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (Some((p, _)), _) if *p == many => true,
        (Some((p, prest)), Some((n, nrest))) => {
            (*p == one || p == n) && rest_match(prest, nrest, many, one)
        }
        (None, None) => true,
        _ => false,
    }
}

/// RabbitMQ: `#` matches zero or more words, `*` exactly one.
fn words_match(pattern: &[&str], name: &[&str], many: &str, one: &str) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() && pattern[p] == many {
            star = Some((p, n));
            p += 1;
            continue;
        }
        if n < name.len() && p < pattern.len() && (pattern[p] == one || pattern[p] == name[n]) {
            p += 1;
            n += 1;
            continue;
        }
        if p == pattern.len() && n == name.len() {
            return true;
        }
        match star {
            Some((sp, sn)) if sn < name.len() => {
                star = Some((sp, sn + 1));
                p = sp + 1;
                n = sn + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/queue/a,/queue/b", &["/queue/a", "/queue/b"])]
    #[case("/queue/a,/topic/b,c", &["/queue/a", "/topic/b", "/queue/c"])]
    #[case("/topic/a,b", &["/topic/a", "/queue/b"])]
    fn composite_destinations_split_with_each_part_its_prefix(
        #[case] destination: &str,
        #[case] parts: &[&str],
    ) {
        assert_eq!(
            composite_parts(destination),
            Some(Ok(parts.iter().map(|p| p.to_string()).collect()))
        );
    }

    #[test]
    fn the_original_destination_is_written_as_activemq_writes_it() {
        let parts = composite_parts("/queue/a,/topic/b,c").unwrap().unwrap();
        assert_eq!(composite_original(&parts), "/queue/a,topic://b,queue://c");
    }

    #[test]
    fn a_destination_without_a_comma_is_not_composite_and_an_empty_part_is_an_error() {
        assert_eq!(composite_parts("/queue/a"), None);
        let error = composite_parts("/queue/a,").unwrap().unwrap_err();
        assert_eq!(
            error,
            "the composite destination '/queue/a,' has an empty part"
        );
    }

    #[rstest]
    #[case("/topic/a.*", "/topic/a.b", true)]
    #[case("/topic/a.*", "/topic/a.b.c", false)]
    #[case("/topic/a.*", "/topic/a", false)]
    #[case("/topic/a.>", "/topic/a.b.c", true)]
    #[case("/topic/a.>", "/topic/a", true)]
    #[case("/topic/*.b", "/topic/a.b", true)]
    #[case("/topic/>", "/topic/a.b", true)]
    #[case("/topic/a.b", "/topic/a.b", true)]
    #[case("/topic/a.#", "/topic/a.b", false)]
    fn activemq_wildcards(#[case] pattern: &str, #[case] name: &str, #[case] matches: bool) {
        assert_eq!(topic_matches(Wildcards::ActiveMq, pattern, name), matches);
    }

    #[rstest]
    #[case("/topic/a.*", "/topic/a.b", true)]
    #[case("/topic/a.*", "/topic/a.b.c", false)]
    #[case("/topic/a.#", "/topic/a", true)]
    #[case("/topic/a.#", "/topic/a.b.c", true)]
    #[case("/topic/#.c", "/topic/a.b.c", true)]
    #[case("/topic/#", "/topic/a.b", true)]
    #[case("/topic/a.#.d", "/topic/a.b.c", false)]
    #[case("/topic/a.>", "/topic/a.b", false)]
    fn rabbitmq_wildcards(#[case] pattern: &str, #[case] name: &str, #[case] matches: bool) {
        assert_eq!(topic_matches(Wildcards::RabbitMq, pattern, name), matches);
    }

    /// As RabbitMQ 3.10 answered each.
    #[rstest]
    #[case("/queue/a/b", Some("'/a/b' is not a valid queue destination\n"))]
    #[case("/queue/", Some("'/' is not a valid queue destination\n"))]
    #[case(
        "/queue/a,/queue/b",
        Some("'/a,/queue/b' is not a valid queue destination\n")
    )]
    #[case("/topic/a/b", Some("'/a/b' is not a valid topic destination\n"))]
    #[case("/amq/queue/a/b", Some("'/a/b' is not a valid amqqueue destination\n"))]
    #[case(
        "/temp-queue/a/b",
        Some("'/a/b' is not a valid temp_queue destination\n")
    )]
    #[case("/exchange/", Some("'/' is not a valid exchange destination\n"))]
    #[case(
        "/exchange/a/b/c",
        Some("'/a/b/c' is not a valid exchange destination\n")
    )]
    #[case("/queue/a,b", None)]
    #[case("/exchange/amq.topic", None)]
    #[case("/exchange/amq.topic/", None)]
    #[case("/reply-queue/a/b", None)]
    fn rabbitmq_names_have_one_element_after_their_prefix(
        #[case] destination: &str,
        #[case] refused: Option<&str>,
    ) {
        let answer = rabbitmq_destination(destination);
        match refused {
            None => assert_eq!(answer, Ok(())),
            Some(body) => {
                assert_eq!(
                    answer,
                    Err(("Invalid destination".to_owned(), body.to_owned()))
                )
            }
        }
    }

    #[test]
    fn patterns_are_told_apart_from_names() {
        assert!(is_pattern(Wildcards::ActiveMq, "/topic/a.*"));
        assert!(is_pattern(Wildcards::ActiveMq, "/topic/>"));
        assert!(!is_pattern(Wildcards::ActiveMq, "/topic/a*b"));
        assert!(!is_pattern(Wildcards::ActiveMq, "/topic/a.#"));
        assert!(is_pattern(Wildcards::RabbitMq, "/topic/a.#"));
        assert!(!is_pattern(Wildcards::Off, "/topic/a.*"));
    }
}
