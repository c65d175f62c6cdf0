//! Acknowledgement modes of a subscription.

use std::fmt;

/// How a subscription's messages are acknowledged.
///
/// # Examples
/// ```
/// use stompbox::AckMode;
///
/// assert_eq!(AckMode::parse("client-individual"), Some(AckMode::ClientIndividual));
/// assert_eq!(AckMode::Client.as_str(), "client");
/// assert_eq!(AckMode::parse("sometimes"), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AckMode {
    /// The message counts as consumed once it is sent.
    #[default]
    Auto,
    /// Cumulative: an ACK covers that message and every earlier one of the
    /// subscription.
    Client,
    /// Each message is acknowledged on its own.
    ClientIndividual,
}

impl AckMode {
    /// Reads the value of a SUBSCRIBE frame's `ack` header.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::AckMode::parse("auto"), Some(stompbox::AckMode::Auto));
    /// ```
    pub fn parse(text: &str) -> Option<AckMode> {
        match text {
            "auto" => Some(AckMode::Auto),
            "client" => Some(AckMode::Client),
            "client-individual" => Some(AckMode::ClientIndividual),
            _ => None,
        }
    }

    /// The header value.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::AckMode::ClientIndividual.as_str(), "client-individual");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }
}

impl fmt::Display for AckMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
