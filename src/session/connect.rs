//! CONNECT and STOMP: version negotiation, authentication, heart-beats,
//! CONNECTED.

use super::{Failure, Session};
use crate::auth::ConnectRequest;
use crate::protocol::frame::Frame;
use crate::protocol::{Version, heart_beat, replies};
use crate::state::Journal;
use crate::state::outbox::Outbound;

/// The supported versions as a `version` header value.
const SUPPORTED: &str = "1.0,1.1,1.2";

impl Session {
    pub(super) fn connect(&mut self, journal: &mut Journal, frame: &Frame) -> Result<(), Failure> {
        let with_credentials = self.with_http_credentials(frame);
        let frame = with_credentials.as_ref().unwrap_or(frame);
        let version = negotiate_version(frame.header("accept-version"), self.highest_version)?;
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
        let principal = self.authenticate(journal, frame)?;
        self.check_vhost(frame)?;
        let agreed = heart_beat::negotiate(
            self.state.config.heart_beat,
            client_beats,
            self.state.config.heart_beat_floor_ms,
        );
        self.version = Some(version);
        // Silence from the client is tolerated for twice its promised interval.
        self.silence_allowed = agreed.expect_every.map(|d| d * 2);
        let negotiated = Outbound::Negotiated {
            version,
            heart_beat: agreed.send_every,
        };
        journal.live.send_control(self.conn, negotiated);
        let session = format!("session-{}", self.conn);
        // STOMP 1.0 has no heart-beats: 0,0 whatever the broker offers.
        let offered = if version == Version::V1_0 {
            (0, 0)
        } else {
            agreed.header
        };
        let connected =
            replies::connected(version, &self.state.config.server_name, &session, offered);
        journal
            .live
            .send_frame(self.conn, connected, &mut journal.history);
        let millis = |d: Option<std::time::Duration>| {
            d.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        let beats = (millis(agreed.send_every), millis(agreed.expect_every));
        journal
            .history
            .connected(self.conn, frame, principal.clone(), version, beats);
        self.principal = Some(principal);
        Ok(())
    }

    /// RabbitMQ: the `host` header names a virtual host, which must exist
    /// (no `host`: the default, `/`).
    fn check_vhost(&mut self, frame: &Frame) -> Result<(), Failure> {
        let Some(vhosts) = &self.state.config.semantics.vhosts else {
            return Ok(());
        };
        let host = frame.header("host").unwrap_or("/");
        if vhosts.iter().any(|v| v == host) {
            self.vhost = Some(host.to_owned());
            return Ok(());
        }
        Err(Failure::new(
            "Bad CONNECT",
            format!("Virtual host '{host}' access denied"),
        ))
    }

    /// CONNECT with the upgrade's HTTP Basic login and passcode, when it has
    /// no `login` of its own and the upgrade had them.
    fn with_http_credentials(&self, frame: &Frame) -> Option<Frame> {
        let (login, passcode) = self.http_credentials.as_ref()?;
        if frame.header("login").is_some() {
            return None;
        }
        Some(
            frame
                .clone()
                .with_header("login", login)
                .with_header("passcode", passcode),
        )
    }

    /// The principal this CONNECT authenticates as, or the refusal (after a
    /// failure the test armed, if any).
    fn authenticate(&mut self, journal: &mut Journal, frame: &Frame) -> Result<String, Failure> {
        let mut refuse = |reason: String, simulated: bool| {
            journal
                .history
                .auth_failed(self.conn, frame, &reason, simulated);
            let detail = if simulated {
                "The test arranged for this connection attempt to fail."
            } else {
                "The broker did not accept the CONNECT frame's credentials."
            };
            Failure::new(reason, detail)
        };
        if let Some(reason) = self.state.refusals.take_connect() {
            return Err(refuse(reason, true));
        }
        if let Some(name) = &self.certificate_principal {
            // The client certificate vouches for it (as RabbitMQ's
            // ssl_cert_login).
            return Ok(name.clone());
        }
        let request = ConnectRequest {
            headers: frame.headers(),
            users: &self.state.users,
        };
        let result = self.state.config.authenticator.authenticate(&request);
        result.map_err(|reason| refuse(reason, false))
    }
}

/// The highest version both sides support, at most `highest` (the
/// WebSocket subprotocol's); absent `accept-version` means 1.0.
fn negotiate_version(accept: Option<&str>, highest: Option<Version>) -> Result<Version, Failure> {
    let Some(accept) = accept else {
        return Ok(Version::V1_0);
    };
    let supported = match highest {
        Some(Version::V1_0) => "1.0",
        Some(Version::V1_1) => "1.0,1.1",
        _ => SUPPORTED,
    };
    accept
        .split(',')
        .filter_map(|v| v.parse::<Version>().ok())
        .filter(|v| highest.is_none_or(|h| *v <= h))
        .max()
        .ok_or_else(|| {
            let why = if supported == SUPPORTED {
                format!("The client accepts {accept:?}; this broker supports {SUPPORTED}.")
            } else {
                format!(
                    "The client accepts {accept:?}; the WebSocket subprotocol it agreed to allows {supported}."
                )
            };
            let mut failure = Failure::new("unsupported STOMP version", why);
            failure.extra.push(("version", supported.to_owned()));
            failure
        })
}
