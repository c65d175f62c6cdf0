//! CONNECT and STOMP: version negotiation, heart-beats, CONNECTED.

use super::{Failure, Session};
use crate::auth::ConnectRequest;
use crate::broker::heart_beat;
use crate::broker::outbox::Outbound;
use crate::{Command, Frame, Version};

/// The supported versions as a `version` header value.
const SUPPORTED: &str = "1.0,1.1,1.2";

impl Session {
    pub(super) fn connect(&mut self, frame: &Frame) -> Result<(), Failure> {
        let version = negotiate_version(frame.header("accept-version"))?;
        let client_beats = match version {
            Version::V1_0 => (0, 0),
            _ => heart_beat::parse(frame.header("heart-beat")).ok_or_else(|| {
                Failure::new(
                    "malformed heart-beat header",
                    format!(
                        "heart-beat must be two non-negative integers separated by a comma, got {:?}.",
                        frame.header("heart-beat").unwrap_or_default()
                    ),
                )
            })?,
        };
        let principal = self.authenticate(frame)?;
        let agreed = heart_beat::negotiate(self.shared.config.heart_beat, client_beats);
        self.version = Some(version);
        self.decoder.set_version(Some(version));
        // Silence from the client is tolerated for twice its promised interval.
        let _ = self
            .stream
            .set_read_timeout(agreed.expect_every.map(|d| d * 2));
        let _ = self.outbox.push(Outbound::Negotiated {
            version,
            heart_beat: agreed.send_every,
        });
        let mut connected = Frame::new(Command::Connected);
        if version != Version::V1_0 {
            connected = connected.with_header("version", version.as_str());
        }
        connected = connected
            .with_header("server", self.shared.config.server_name.clone())
            .with_header("session", format!("session-{}", self.conn));
        if version != Version::V1_0 {
            let (sx, sy) = agreed.header;
            connected = connected.with_header("heart-beat", format!("{sx},{sy}"));
        }
        self.outbox.frame(connected);
        let millis = |d: Option<std::time::Duration>| {
            d.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        let beats = (millis(agreed.send_every), millis(agreed.expect_every));
        self.shared
            .journal
            .update(|j| j.connected(self.conn, frame, principal.clone(), version, beats));
        self.principal = Some(principal);
        Ok(())
    }

    /// The principal this CONNECT authenticates as, or the refusal (after a
    /// failure the test armed, if any).
    fn authenticate(&mut self, frame: &Frame) -> Result<String, Failure> {
        let refuse = |reason: String, simulated: bool| {
            self.shared
                .journal
                .update(|j| j.auth_failed(self.conn, frame, &reason, simulated));
            let detail = if simulated {
                "The test arranged for this connection attempt to fail."
            } else {
                "The broker did not accept the CONNECT frame's credentials."
            };
            Failure::new(reason, detail)
        };
        if let Some(reason) = self.shared.faults.take_connect() {
            return Err(refuse(reason, true));
        }
        let request = ConnectRequest {
            headers: frame.headers(),
            users: &self.shared.users,
        };
        let result = self.shared.config.authenticator.authenticate(&request);
        result.map_err(|reason| refuse(reason, false))
    }
}

/// The highest version both sides support; absent `accept-version` means 1.0.
fn negotiate_version(accept: Option<&str>) -> Result<Version, Failure> {
    let Some(accept) = accept else {
        return Ok(Version::V1_0);
    };
    accept
        .split(',')
        .filter_map(|v| v.parse::<Version>().ok())
        .max()
        .ok_or_else(|| {
            let mut failure = Failure::new(
                "unsupported STOMP version",
                format!("The client accepts {accept:?}; this broker supports {SUPPORTED}."),
            );
            failure.extra.push(("version", SUPPORTED.to_owned()));
            failure
        })
}
