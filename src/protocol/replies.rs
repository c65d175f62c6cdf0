//! The frames a broker answers with: CONNECTED, RECEIPT and ERROR, each
//! built in exactly one place.

use bytes::Bytes;

use crate::protocol::Version;
use crate::protocol::frame::{Command, Frame};

/// A RECEIPT for the frame whose `receipt` header was `id`.
pub(crate) fn receipt(id: impl AsRef<str>) -> Frame {
    Frame::new(Command::Receipt).with_header("receipt-id", id)
}

/// An ERROR frame: `message` is the short headline, `detail` the body (plain
/// text); `receipt_id` answers a `receipt` header of the refused frame;
/// `extra` are further headers (as `version` on a failed negotiation).
pub(crate) fn error(
    message: impl AsRef<str>,
    detail: impl Into<Bytes>,
    receipt_id: Option<String>,
    extra: &[(&str, &str)],
) -> Frame {
    let mut frame = Frame::new(Command::Error).with_header("message", message);
    if let Some(receipt) = receipt_id {
        frame = frame.with_header("receipt-id", receipt);
    }
    for (name, value) in extra {
        frame = frame.with_header(*name, *value);
    }
    let body: Bytes = detail.into();
    if body.is_empty() {
        return frame;
    }
    frame
        .with_header("content-type", "text/plain")
        .with_header("content-length", body.len().to_string())
        .with_body(body)
}

/// The CONNECTED frame of a session of `version`; `heart_beat` is the
/// broker's `sx,sy` (not sent to 1.0 clients, nor is `version`).
pub(crate) fn connected(
    version: Version,
    server: &str,
    session: &str,
    heart_beat: (u32, u32),
) -> Frame {
    // A 1.0 client gets `version` and `heart-beat` too (0,0, as 1.0 has
    // none), as ActiveMQ and RabbitMQ both send them: clients and tests
    // written against those brokers read them.
    let (sx, sy) = heart_beat;
    Frame::new(Command::Connected)
        .with_header("version", version.as_str())
        .with_header("server", server)
        .with_header("session", session)
        .with_header("heart-beat", format!("{sx},{sy}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_carries_its_detail_as_plain_text_with_its_length() {
        let frame = error(
            "bad",
            "the detail",
            Some("r-1".into()),
            &[("version", "1.2")],
        );
        assert_eq!(frame.header("message"), Some("bad"));
        assert_eq!(frame.header("receipt-id"), Some("r-1"));
        assert_eq!(frame.header("version"), Some("1.2"));
        assert_eq!(frame.header("content-type"), Some("text/plain"));
        assert_eq!(frame.header("content-length"), Some("10"));
        assert_eq!(frame.body(), b"the detail");
    }

    #[test]
    fn stomp_1_0_gets_its_version_and_heart_beats_as_the_real_brokers_send_them() {
        let frame = connected(Version::V1_0, "s", "session-1", (0, 0));
        assert_eq!(frame.header("version"), Some("1.0"));
        assert_eq!(frame.header("heart-beat"), Some("0,0"));
        let frame = connected(Version::V1_2, "s", "session-1", (10, 20));
        assert_eq!(frame.header("version"), Some("1.2"));
        assert_eq!(frame.header("heart-beat"), Some("10,20"));
    }
}
