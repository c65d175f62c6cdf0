//! Secrets a client sends (a CONNECT frame's passcode, an `authorization`
//! header), kept out of everything the broker records or prints.

use std::borrow::Cow;

use crate::protocol::frame::{Command, Frame, Headers};

/// What stands in for a secret wherever a frame is recorded or shown.
pub(crate) const REDACTED: &str = "[redacted]";

/// Headers that carry a secret: never recorded nor shown as they came.
pub(crate) const SECRET_HEADERS: [&str; 2] = ["passcode", "authorization"];

/// `frame` as it may be recorded or shown: a CONNECT or STOMP frame's
/// passcode (and any `authorization` header) replaced by [`REDACTED`].
pub(crate) fn without_secrets(frame: &Frame) -> Cow<'_, Frame> {
    let is_connect = matches!(frame.command(), Command::Connect | Command::Stomp);
    let has_secret = || {
        frame
            .headers()
            .iter()
            .any(|(name, _)| SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
    };
    if !is_connect || !has_secret() {
        return Cow::Borrowed(frame);
    }
    let mut headers = Headers::new();
    for (name, value) in frame.headers().iter() {
        if SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            headers.push(name, REDACTED);
        } else {
            headers.push(name, value);
        }
    }
    Cow::Owned(Frame::from_parts(
        frame.command().clone(),
        headers,
        frame.body_bytes(),
    ))
}

/// Whether header `name` carries a secret.
pub(crate) fn is_secret(name: &str) -> bool {
    SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connect_frames_lose_their_secrets() {
        let connect = Frame::new(Command::Connect)
            .with_header("login", "a")
            .with_header("passcode", "hunter2")
            .with_header("Authorization", "Basic eA==");
        let shown = without_secrets(&connect);
        assert_eq!(shown.header("passcode"), Some(REDACTED));
        assert_eq!(shown.header("Authorization"), Some(REDACTED));
        assert_eq!(shown.header("login"), Some("a"));
        let send = Frame::new(Command::Send).with_header("passcode", "not a secret here");
        assert!(matches!(without_secrets(&send), Cow::Borrowed(_)));
    }
}
