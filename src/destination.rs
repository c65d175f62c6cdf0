//! Destinations: how a name maps to queue or topic semantics
//! ([`DestinationRules`]), and which names a broker accepts
//! ([`DestinationSyntax`]).

pub use crate::rules::DestinationSyntax;

/// The delivery semantics of a destination.
///
/// # Examples
/// ```
/// use stompbox::destination::{DestinationKind, DestinationRules};
///
/// let rules = DestinationRules::default();
/// assert_eq!(rules.kind_of("/queue/orders"), DestinationKind::Queue);
/// assert_eq!(rules.kind_of("/topic/prices"), DestinationKind::Topic);
/// assert_eq!(rules.kind_of("/exchange/x"), DestinationKind::Queue);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DestinationKind {
    /// Each message goes to exactly one subscriber, round-robin; messages wait
    /// while nobody subscribes; unacknowledged ones are redelivered.
    Queue,
    /// Each message goes to every current subscriber; nothing is kept.
    Topic,
}

/// Prefix rules that decide a destination's [`DestinationKind`].
///
/// The longest matching prefix wins; a destination no prefix matches gets the
/// default kind. Out of the box `/queue/` is a queue, `/topic/` is a topic, and
/// anything else is a queue, as ActiveMQ treats unprefixed names.
///
/// # Examples
/// ```
/// use stompbox::destination::{DestinationKind, DestinationRules};
///
/// let rules = DestinationRules::default()
///     .with_prefix("/exchange/", DestinationKind::Topic)
///     .with_default(DestinationKind::Topic);
/// assert_eq!(rules.kind_of("/exchange/amq.fanout"), DestinationKind::Topic);
/// assert_eq!(rules.kind_of("orders"), DestinationKind::Topic);
/// assert_eq!(rules.kind_of("/queue/a"), DestinationKind::Queue);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationRules {
    prefixes: Vec<(String, DestinationKind)>,
    default: DestinationKind,
}

impl Default for DestinationRules {
    fn default() -> Self {
        DestinationRules {
            prefixes: vec![
                ("/queue/".to_owned(), DestinationKind::Queue),
                ("/topic/".to_owned(), DestinationKind::Topic),
                // A connection's temporary topics (`/temp-topic/NAME`).
                ("/remote-temp-topic/".to_owned(), DestinationKind::Topic),
            ],
            default: DestinationKind::Queue,
        }
    }
}

impl DestinationRules {
    /// Every destination is of `kind`, whatever its name.
    ///
    /// # Examples
    /// ```
    /// use stompbox::destination::{DestinationKind, DestinationRules};
    /// let rules = DestinationRules::all(DestinationKind::Topic);
    /// assert_eq!(rules.kind_of("/queue/a"), DestinationKind::Topic);
    /// ```
    pub fn all(kind: DestinationKind) -> Self {
        DestinationRules {
            prefixes: Vec::new(),
            default: kind,
        }
    }

    /// Adds (or replaces) the rule for destinations starting with `prefix`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::destination::{DestinationKind, DestinationRules};
    /// let rules = DestinationRules::default().with_prefix("/queue/", DestinationKind::Topic);
    /// assert_eq!(rules.kind_of("/queue/a"), DestinationKind::Topic);
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>, kind: DestinationKind) -> Self {
        let prefix = prefix.into();
        self.prefixes.retain(|(p, _)| *p != prefix);
        self.prefixes.push((prefix, kind));
        self
    }

    /// Sets the kind of destinations that match no prefix.
    ///
    /// # Examples
    /// ```
    /// use stompbox::destination::{DestinationKind, DestinationRules};
    /// let rules = DestinationRules::default().with_default(DestinationKind::Topic);
    /// assert_eq!(rules.kind_of("x"), DestinationKind::Topic);
    /// ```
    #[must_use]
    pub fn with_default(mut self, kind: DestinationKind) -> Self {
        self.default = kind;
        self
    }

    /// The kind of `destination` under these rules.
    ///
    /// # Examples
    /// ```
    /// use stompbox::destination::{DestinationKind, DestinationRules};
    /// assert_eq!(DestinationRules::default().kind_of("/topic/t"), DestinationKind::Topic);
    /// ```
    pub fn kind_of(&self, destination: &str) -> DestinationKind {
        self.prefixes
            .iter()
            .filter(|(prefix, _)| destination.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, kind)| *kind)
    }
}
