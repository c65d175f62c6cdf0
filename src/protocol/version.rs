//! STOMP protocol versions and what each changes on the wire.

use std::fmt;
use std::str::FromStr;

/// A STOMP protocol version.
///
/// Versions are ordered, so the highest common one is a `max()` away.
///
/// # Examples
/// ```
/// use stompbox::Version;
///
/// assert_eq!("1.2".parse::<Version>(), Ok(Version::V1_2));
/// assert_eq!(Version::V1_1.to_string(), "1.1");
/// assert!(Version::V1_0 < Version::V1_2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// STOMP 1.0: no header escaping, no NACK, no heart-beats.
    V1_0,
    /// STOMP 1.1: escaping of `\n`, `\c`, `\\`; NACK; heart-beats.
    V1_1,
    /// STOMP 1.2: adds `\r` escaping, CRLF line ends and the `ack` header.
    V1_2,
}

impl Version {
    /// Every version, oldest first.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::Version::ALL.len(), 3);
    /// ```
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The version as it appears in `accept-version` and `version` headers.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::Version::V1_0.as_str(), "1.0");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `1.0`, `1.1` or `1.2`.
///
/// # Examples
/// ```
/// assert!("2.0".parse::<stompbox::Version>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownVersion;

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown STOMP version (expected 1.0, 1.1 or 1.2)")
    }
}

impl std::error::Error for UnknownVersion {}

impl FromStr for Version {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1.0" => Ok(Version::V1_0),
            "1.1" => Ok(Version::V1_1),
            "1.2" => Ok(Version::V1_2),
            _ => Err(UnknownVersion),
        }
    }
}
