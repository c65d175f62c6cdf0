//! The HTTP request that opens a STOMP-over-WebSocket connection on the
//! STOMP port, and the broker's answer: `101 Switching Protocols` with the
//! highest STOMP subprotocol the client offered (exactly one
//! `Sec-WebSocket-Protocol` header, none when it offered none the broker
//! knows), `426 Upgrade Required` for plain HTTP, `400` for a malformed
//! upgrade, `404` for a path the broker does not serve. Each refusal carries
//! a one-line text body saying why.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::journal::WebSocketInfo;

/// The longest request head read before answering 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// What RFC 6455 appends to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The STOMP subprotocols, most preferred first.
const SUBPROTOCOLS: [&str; 4] = ["v12.stomp", "v11.stomp", "v10.stomp", "stomp"];

/// Whether `first` (the first bytes of a connection) may be an HTTP
/// request; STOMP frames never start so. `None`: too few bytes to tell.
pub(crate) fn looks_like_http(first: &[u8]) -> Option<bool> {
    const GET: &[u8] = b"GET ";
    if first.len() >= GET.len() {
        Some(first.starts_with(GET))
    } else if GET.starts_with(first) {
        None
    } else {
        Some(false)
    }
}

/// The answer to a request head.
#[derive(Debug)]
pub(crate) enum Answer {
    /// More bytes are needed.
    Incomplete,
    /// Upgrade: write `response`, then speak WebSocket; `rest` is what the
    /// client sent after the head (already WebSocket frames).
    Upgrade {
        response: Vec<u8>,
        info: WebSocketInfo,
        rest: Vec<u8>,
        /// Login and passcode from an HTTP Basic `Authorization` header.
        credentials: Option<(String, String)>,
    },
    /// Write `response` and close.
    Refuse { status: u16, response: Vec<u8> },
}

/// What the broker serves upgrades to.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Served<'a> {
    /// The one path served (`None`: any).
    pub(crate) path: Option<&'a str>,
    /// The origins allowed (`None`: any); a request without `Origin` (not
    /// from a browser) is allowed.
    pub(crate) origins: Option<&'a [String]>,
    /// An HTTP status the test arranged for this upgrade.
    pub(crate) refuse_with: Option<u16>,
}

/// Answers the request in `head` (bytes read so far).
pub(crate) fn answer(bytes: &[u8], served: Served<'_>) -> Answer {
    let path = served.path;
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut slots);
    let head_len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => return Answer::Incomplete,
        Ok(httparse::Status::Partial) => {
            return refuse(431, "the request head is too large");
        }
        Err(e) => return refuse(400, &format!("malformed HTTP request: {e}")),
    };
    let headers: &[httparse::Header<'_>] = request.headers;
    let header = |name: &str| -> Vec<String> {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
            .collect()
    };
    let has_token = |name: &str, token: &str| {
        header(name)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") {
        return refuse(
            426,
            "this is a STOMP port: send STOMP frames, or upgrade to WebSocket (Upgrade: websocket)",
        );
    }
    let target = request.path.unwrap_or("/").to_owned();
    if let Some(served) = path {
        if target.split('?').next() != Some(served) {
            return refuse(
                404,
                &format!("WebSocket STOMP is served at {served}, not here"),
            );
        }
    }
    if let (Some(allowed), Some(origin)) = (served.origins, header("origin").into_iter().next()) {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&origin)) {
            return refuse(403, &format!("origin {origin} is not allowed"));
        }
    }
    if let Some(status) = served.refuse_with {
        return refuse(
            status,
            "the test arranged for this WebSocket upgrade to be refused",
        );
    }
    if !has_token("connection", "upgrade") {
        return refuse(400, "a WebSocket upgrade needs Connection: Upgrade");
    }
    if !header("sec-websocket-version")
        .iter()
        .any(|v| v.trim() == "13")
    {
        return refuse(
            400,
            "only WebSocket version 13 is supported (Sec-WebSocket-Version: 13)",
        );
    }
    let Some(key) = header("sec-websocket-key").into_iter().next() else {
        return refuse(400, "a WebSocket upgrade needs Sec-WebSocket-Key");
    };
    let offered: Vec<String> = header("sec-websocket-protocol")
        .iter()
        .flat_map(|v| {
            v.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let chosen = SUBPROTOCOLS
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p));
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(key.trim())
    );
    if let Some(chosen) = chosen {
        response.push_str(&format!("Sec-WebSocket-Protocol: {chosen}\r\n"));
    }
    response.push_str("\r\n");
    let recorded = headers
        .iter()
        .map(|h| {
            let secret = ["cookie", "authorization"]
                .iter()
                .any(|s| h.name.eq_ignore_ascii_case(s));
            let value = if secret {
                "(redacted)".to_owned()
            } else {
                String::from_utf8_lossy(h.value).into_owned()
            };
            (h.name.to_owned(), value)
        })
        .collect();
    let credentials = header("authorization").into_iter().find_map(|v| basic(&v));
    Answer::Upgrade {
        credentials,
        response: response.into_bytes(),
        info: WebSocketInfo {
            path: target,
            subprotocol: chosen.map(str::to_owned),
            headers: recorded,
        },
        rest: bytes[head_len..].to_vec(),
    }
}

/// Login and passcode from `Basic base64(login:passcode)`.
fn basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, passcode) = text.split_once(':')?;
    Some((login.to_owned(), passcode.to_owned()))
}

/// The answer to bytes that are not HTTP on the WebSocket-only listener.
pub(crate) fn websocket_only_answer() -> Vec<u8> {
    match refuse(
        400,
        "this port serves STOMP over WebSocket only: the STOMP port takes plain STOMP",
    ) {
        Answer::Refuse { response, .. } => response,
        _ => unreachable!("refuse answers a refusal"),
    }
}

/// `Sec-WebSocket-Accept` for a client's key.
fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

fn refuse(status: u16, why: &str) -> Answer {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        503 => "Service Unavailable",
        404 => "Not Found",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "",
    };
    let body = format!("{why}\n");
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 426 {
        response.push_str("Upgrade: websocket\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    Answer::Refuse {
        status,
        response: response.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(extra: &str) -> String {
        format!(
            "GET /ws?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: secret\r\n{extra}\r\n"
        )
    }

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn the_highest_stomp_subprotocol_offered_is_chosen_once() {
        let request = upgrade(
            "Sec-WebSocket-Protocol: v10.stomp, v11.stomp\r\nSec-WebSocket-Protocol: chat\r\n",
        );
        let Answer::Upgrade {
            response,
            info,
            rest,
            ..
        } = answer(&[request.as_bytes(), &[0x81]].concat(), Served::default())
        else {
            panic!("an upgrade");
        };
        let response = String::from_utf8(response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{response}"
        );
        assert_eq!(response.matches("Sec-WebSocket-Protocol").count(), 1);
        assert!(response.contains("Sec-WebSocket-Protocol: v11.stomp\r\n"));
        assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert_eq!(info.path, "/ws?x=1");
        assert_eq!(info.subprotocol.as_deref(), Some("v11.stomp"));
        assert!(
            info.headers
                .contains(&("Cookie".to_owned(), "(redacted)".to_owned()))
        );
        assert_eq!(rest, b"\x81", "what followed the head is kept");
    }

    #[test]
    fn no_subprotocol_header_when_none_was_offered() {
        let Answer::Upgrade { response, info, .. } =
            answer(upgrade("").as_bytes(), Served::default())
        else {
            panic!("an upgrade");
        };
        assert!(
            !String::from_utf8(response)
                .unwrap()
                .contains("Sec-WebSocket-Protocol")
        );
        assert_eq!(info.subprotocol, None);
    }

    #[test]
    fn what_is_not_an_upgrade_gets_a_status_and_a_reason() {
        let status = |bytes: &[u8], path| match answer(
            bytes,
            Served {
                path,
                ..Served::default()
            },
        ) {
            Answer::Refuse { status, response } => {
                assert!(String::from_utf8(response).unwrap().ends_with('\n'));
                status
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", None), 426);
        assert_eq!(status(upgrade("").as_bytes(), Some("/stomp")), 404);
        let old = upgrade("").replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
        assert_eq!(status(old.as_bytes(), None), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost\r\n\r\n", None), 400);
        assert!(matches!(
            answer(b"GET / HTTP/1.1\r\nHo", Served::default()),
            Answer::Incomplete
        ));
        let origins = ["http://app.test".to_owned()];
        let served = Served {
            origins: Some(&origins),
            ..Served::default()
        };
        let from =
            |origin: &str| answer(upgrade(&format!("Origin: {origin}\r\n")).as_bytes(), served);
        assert!(matches!(
            from("http://evil.test"),
            Answer::Refuse { status: 403, .. }
        ));
        assert!(matches!(from("http://app.test"), Answer::Upgrade { .. }));
        let armed = Served {
            refuse_with: Some(503),
            ..Served::default()
        };
        assert!(matches!(
            answer(upgrade("").as_bytes(), armed),
            Answer::Refuse { status: 503, .. }
        ));
    }

    #[test]
    fn basic_credentials_on_the_upgrade_are_read() {
        // base64("guest:secret")
        let request = upgrade("Authorization: Basic Z3Vlc3Q6c2VjcmV0\r\n");
        let Answer::Upgrade {
            credentials, info, ..
        } = answer(request.as_bytes(), Served::default())
        else {
            panic!("an upgrade");
        };
        assert_eq!(credentials, Some(("guest".to_owned(), "secret".to_owned())));
        assert!(
            info.headers
                .contains(&("Authorization".to_owned(), "(redacted)".to_owned()))
        );
        assert_eq!(basic("Bearer x"), None);
    }

    #[test]
    fn only_get_can_start_an_upgrade() {
        assert_eq!(looks_like_http(b"GET /"), Some(true));
        assert_eq!(looks_like_http(b"GE"), None);
        assert_eq!(looks_like_http(b"CONNECT\n"), Some(false));
        assert_eq!(looks_like_http(b"\n"), Some(false));
    }
}
