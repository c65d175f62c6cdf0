//! Acknowledgement modes of a subscription.

use std::fmt;

/// How a subscription's messages are acknowledged.
///
/// # Examples
/// ```
/// use stompbox::Ack;
///
/// assert_eq!(Ack::parse("client-individual"), Some(Ack::ClientIndividual));
/// assert_eq!(Ack::Client.as_str(), "client");
/// assert_eq!(Ack::parse("sometimes"), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Ack {
    /// The message counts as consumed once it is sent.
    #[default]
    Auto,
    /// Cumulative: an ACK covers that message and every earlier one of the
    /// subscription.
    Client,
    /// Each message is acknowledged on its own.
    ClientIndividual,
}

impl Ack {
    /// Reads the value of a SUBSCRIBE frame's `ack` header.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::Ack::parse("auto"), Some(stompbox::Ack::Auto));
    /// ```
    pub fn parse(text: &str) -> Option<Ack> {
        match text {
            "auto" => Some(Ack::Auto),
            "client" => Some(Ack::Client),
            "client-individual" => Some(Ack::ClientIndividual),
            _ => None,
        }
    }

    /// The header value.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::Ack::ClientIndividual.as_str(), "client-individual");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Ack::Auto => "auto",
            Ack::Client => "client",
            Ack::ClientIndividual => "client-individual",
        }
    }
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
