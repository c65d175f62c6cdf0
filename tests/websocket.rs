//! STOMP over WebSocket on the STOMP port (issue 12), driven by an
//! independent WebSocket client (tungstenite): the handshake and its
//! subprotocol, STOMP frames across and within messages, heart-beats, ping,
//! the close handshake, what the journal records, and plain HTTP answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rstest::rstest;
use stompbox::journal::CloseReason;
use stompbox::{AckMode, Broker, Client, WebSocketReplies};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<TcpStream>;

const PATIENCE: Duration = Duration::from_secs(5);

/// A WebSocket connection to `addr` at `path`, offering `protocols`.
fn ws(addr: SocketAddr, path: &str, protocols: &[&str]) -> (Ws, Option<String>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if !protocols.is_empty() {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            protocols.join(", ").parse().unwrap(),
        );
    }
    request
        .headers_mut()
        .insert("Cookie", "session=secret".parse().unwrap());
    let (socket, response) = tungstenite::client(request, stream).expect("the upgrade");
    let chosen = response
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        chosen.len() <= 1,
        "one Sec-WebSocket-Protocol at most: {chosen:?}"
    );
    (socket, chosen.into_iter().next())
}

/// The next STOMP frames the broker sent, as text, split at NULs (EOL
/// heart-beats dropped).
fn frames(socket: &mut Ws, count: usize) -> Vec<String> {
    let mut text = String::new();
    let mut got = Vec::new();
    while got.len() < count {
        match socket.read().expect("a message") {
            Message::Text(t) => text.push_str(t.as_str()),
            Message::Binary(b) => text.push_str(&String::from_utf8_lossy(&b)),
            _ => continue,
        }
        while let Some(end) = text.find('\0') {
            let frame = text[..end].trim_start_matches(['\n', '\r']).to_owned();
            text.drain(..=end);
            got.push(frame);
        }
    }
    got
}

/// The code of the close frame the broker sends next.
fn close_code(socket: &mut Ws) -> Option<u16> {
    loop {
        match socket.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}

fn send(socket: &mut Ws, stomp: &str) {
    socket.send(Message::text(stomp)).unwrap();
}

#[rstest]
#[case::highest_of_three(&["v10.stomp", "v12.stomp", "v11.stomp"], Some("v12.stomp"))]
#[case::plain_stomp(&["stomp"], Some("stomp"))]
#[case::none_offered(&[], None)]
fn the_highest_stomp_subprotocol_offered_is_chosen(
    #[case] offered: &[&str],
    #[case] chosen: Option<&str>,
) {
    let broker = Broker::start().unwrap();
    let (_socket, got) = ws(broker.addr(), "/ws", offered);
    assert_eq!(got.as_deref(), chosen);
}

#[test]
fn stomp_over_websocket_works_as_over_tcp_and_the_journal_shows_the_handshake() {
    let broker = Broker::start().unwrap();
    let mut tcp = Client::connect(broker.addr()).unwrap();
    tcp.subscribe("/queue/from-ws", AckMode::Auto).unwrap();

    let (mut socket, _) = ws(broker.addr(), "/stomp?token=t", &["v12.stomp"]);
    send(&mut socket, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    assert!(frames(&mut socket, 1)[0].starts_with("CONNECTED\nversion:1.2"));
    // A frame across two messages, then two frames in one message.
    send(&mut socket, "SUBSCRIBE\nid:1\ndestination:/queue/to-ws\nre");
    send(&mut socket, "ceipt:s\n\n\0");
    assert!(frames(&mut socket, 1)[0].starts_with("RECEIPT\nreceipt-id:s"));
    send(
        &mut socket,
        "SEND\ndestination:/queue/from-ws\n\nhello tcp\0SEND\ndestination:/queue/from-ws\n\nagain\0",
    );
    assert_eq!(tcp.recv().unwrap().body_text(), "hello tcp");
    assert_eq!(tcp.recv().unwrap().body_text(), "again");
    tcp.send("/queue/to-ws", "hello ws").unwrap();
    let message = frames(&mut socket, 1).remove(0);
    assert!(message.starts_with("MESSAGE\n"), "{message}");
    assert!(message.ends_with("\n\nhello ws"), "{message}");

    let connection = broker
        .connections()
        .into_iter()
        .find(|c| c.transport == "ws")
        .expect("a ws connection");
    let handshake = connection.websocket.expect("the handshake recorded");
    assert_eq!(handshake.path, "/stomp?token=t");
    assert_eq!(handshake.subprotocol.as_deref(), Some("v12.stomp"));
    let cookie = handshake
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("cookie"));
    assert_eq!(cookie.map(|(_, v)| v.as_str()), Some("(redacted)"));
    let transcript = broker.frames(connection.id).unwrap();
    assert_eq!(
        transcript[0].frame.as_ref().unwrap().command().as_str(),
        "CONNECT"
    );

    // DISCONNECT: its RECEIPT, then the WebSocket close handshake.
    send(&mut socket, "DISCONNECT\nreceipt:bye\n\n\0");
    assert!(frames(&mut socket, 1)[0].starts_with("RECEIPT\nreceipt-id:bye"));
    assert_eq!(close_code(&mut socket), Some(1000));
    broker
        .wait_until(
            |j| {
                j.connections()
                    .any(|c| c.transport == "ws" && c.closed.is_some())
            },
            PATIENCE,
        )
        .unwrap();
}

#[test]
fn heart_beats_are_messages_holding_an_eol_and_pings_get_pongs() {
    let broker = Broker::start().unwrap();
    let (mut socket, _) = ws(broker.addr(), "/", &["v12.stomp"]);
    send(
        &mut socket,
        "CONNECT\naccept-version:1.2\nhost:h\nheart-beat:200,200\n\n\0",
    );
    assert!(frames(&mut socket, 1)[0].starts_with("CONNECTED"));
    let started = Instant::now();
    let beat = loop {
        send(&mut socket, "\n"); // ours, every read
        match socket.read().unwrap() {
            Message::Text(t) if t.as_str() == "\n" => break started.elapsed(),
            _ => {}
        }
    };
    assert!(beat < PATIENCE);
    socket
        .send(Message::Ping(b"anyone?".to_vec().into()))
        .unwrap();
    let pong = loop {
        match socket.read().unwrap() {
            Message::Pong(payload) => break payload,
            _ => send(&mut socket, "\n"),
        }
    };
    assert_eq!(&pong[..], b"anyone?");
}

#[test]
fn an_error_is_followed_by_a_websocket_close() {
    let broker = Broker::start().unwrap();
    let (mut socket, _) = ws(broker.addr(), "/", &[]);
    send(&mut socket, "SEND\ndestination:/q\n\n\0");
    assert!(frames(&mut socket, 1)[0].starts_with("ERROR\n"));
    assert_eq!(close_code(&mut socket), Some(1000));
}

#[test]
fn an_unmasked_frame_is_a_protocol_error_closed_with_1002() {
    let broker = Broker::start().unwrap();
    let (mut socket, _) = ws(broker.addr(), "/", &[]);
    let stream = socket.get_mut();
    // A text frame without a mask, which a client must never send.
    stream.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let mut answer = [0u8; 4];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(answer, [0x88, 0x02, 0x03, 0xEA], "close 1002");
}

#[test]
fn a_binary_body_travels_in_a_binary_message() {
    let broker = Broker::start().unwrap();
    let (mut socket, _) = ws(broker.addr(), "/", &["v12.stomp"]);
    send(&mut socket, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    frames(&mut socket, 1);
    send(
        &mut socket,
        "SUBSCRIBE\nid:1\ndestination:/queue/bin\nreceipt:r\n\n\0",
    );
    frames(&mut socket, 1);
    broker.publish("/queue/bin", vec![0xFF, 0x00, 0xFE]);
    let message = loop {
        match socket.read().unwrap() {
            Message::Binary(bytes) => break bytes,
            Message::Text(t) if t.as_str() == "\n" => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(message.ends_with(&[0xFF, 0x00, 0xFE, 0x00]));
    // A client may send binary too.
    let frame = Frame::message(
        b"SEND\ndestination:/queue/back\ncontent-length:2\n\n\xFF\xFE\0".to_vec(),
        OpCode::Data(Data::Binary),
        true,
    );
    socket.write(Message::Frame(frame)).unwrap();
    socket.flush().unwrap();
    let back = broker
        .wait_for_messages("/queue/back", 1, PATIENCE)
        .unwrap();
    assert_eq!(&back[0].body[..], &[0xFF, 0xFE]);
}

/// Whether the next message that is not a heart-beat is binary.
fn next_is_binary(socket: &mut Ws) -> bool {
    loop {
        match socket.read().expect("a message") {
            Message::Binary(_) => return true,
            Message::Text(t) if t.as_str() != "\n" => return false,
            _ => {}
        }
    }
}

fn send_binary(socket: &mut Ws, stomp: &str) {
    socket
        .send(Message::binary(stomp.as_bytes().to_vec()))
        .unwrap();
}

#[rstest]
#[case::text(WebSocketReplies::Text, [false, false])]
#[case::binary(WebSocketReplies::Binary, [true, true])]
#[case::mirror(WebSocketReplies::Mirror, [true, false])]
fn replies_are_text_binary_or_mirror_the_clients_messages(
    #[case] replies: WebSocketReplies,
    #[case] binary: [bool; 2],
) {
    let broker = Broker::builder()
        .websocket_replies(replies)
        .start()
        .unwrap();
    let (mut socket, _) = ws(broker.addr(), "/", &["v12.stomp"]);
    send_binary(&mut socket, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    assert_eq!(next_is_binary(&mut socket), binary[0], "CONNECTED");
    send(
        &mut socket,
        "SUBSCRIBE\nid:1\ndestination:/q\nreceipt:r\n\n\0",
    );
    assert_eq!(next_is_binary(&mut socket), binary[1], "RECEIPT");
}

/// Sends `request` raw and returns the answer, and how long until the close.
fn raw_http(addr: SocketAddr, request: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let started = Instant::now();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    (answer, started.elapsed())
}

#[test]
fn plain_http_on_the_stomp_port_gets_426_and_a_close_at_once() {
    let broker = Broker::start().unwrap();
    let (answer, took) = raw_http(broker.addr(), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with(
        "this is a STOMP port: send STOMP frames, or upgrade to WebSocket (Upgrade: websocket)\n"
    ));
    assert!(
        took < Duration::from_millis(100),
        "answered and closed in {took:?}"
    );
    let closed = broker.wait_until(
        |j| {
            j.connections().any(|c| {
                c.closed
                    .as_ref()
                    .is_some_and(|(_, r)| *r == CloseReason::HttpAnswered(426))
            })
        },
        PATIENCE,
    );
    assert!(closed.is_ok());
}

#[test]
fn an_offer_of_no_stomp_subprotocol_gets_no_subprotocol_header() {
    // A strict client (tungstenite, a browser) then fails the connection
    // itself, as it must when its required subprotocol is not agreed.
    let broker = Broker::start().unwrap();
    let mut stream = TcpStream::connect(broker.addr()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(!head.contains("Sec-WebSocket-Protocol"), "{head}");
}

#[test]
fn a_restricted_path_answers_404_elsewhere() {
    let broker = Broker::builder().websocket_path("/ws").start().unwrap();
    let (answer, _) = raw_http(
        broker.addr(),
        "GET /stomp HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 404 Not Found"), "{answer}");
    let (_socket, _) = ws(broker.addr(), "/ws", &["v12.stomp"]);
}

/// An upgrade request with `extra` headers, answered; the status line.
fn upgrade_status(addr: SocketAddr, extra: &str) -> String {
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().trim_end().to_owned()
}

#[test]
fn armed_refusals_answer_the_next_upgrades_then_they_work_again() {
    let broker = Broker::start().unwrap();
    broker.refuse_next_websocket_upgrades(2, 401);
    assert_eq!(
        upgrade_status(broker.addr(), ""),
        "HTTP/1.1 401 Unauthorized"
    );
    // TCP is not affected, and does not use the refusals up.
    Client::connect(broker.addr()).unwrap();
    assert_eq!(
        upgrade_status(broker.addr(), ""),
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        upgrade_status(broker.addr(), ""),
        "HTTP/1.1 101 Switching Protocols"
    );
}

#[test]
fn origins_can_be_restricted() {
    let broker = Broker::builder()
        .websocket_origins(&["http://localhost:3000"])
        .start()
        .unwrap();
    let from = |origin: &str| upgrade_status(broker.addr(), &format!("Origin: {origin}\r\n"));
    assert_eq!(from("http://evil.test"), "HTTP/1.1 403 Forbidden");
    assert_eq!(
        from("http://localhost:3000"),
        "HTTP/1.1 101 Switching Protocols"
    );
    assert_eq!(
        upgrade_status(broker.addr(), ""),
        "HTTP/1.1 101 Switching Protocols"
    );
}

#[test]
fn basic_credentials_on_the_upgrade_log_in_a_connect_without_login() {
    let broker = Broker::builder().user("guest", "secret").start().unwrap();
    let login = |authorization: &str| {
        let stream = TcpStream::connect(broker.addr()).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request = format!("ws://{}/ws", broker.addr())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Authorization", authorization.parse().unwrap());
        let (mut socket, _) = tungstenite::client(request, stream).unwrap();
        send(&mut socket, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
        frames(&mut socket, 1).remove(0)
    };
    // base64("guest:secret") and base64("guest:wrong")
    assert!(login("Basic Z3Vlc3Q6c2VjcmV0").starts_with("CONNECTED"));
    assert!(login("Basic Z3Vlc3Q6d3Jvbmc=").starts_with("ERROR"));
    let logged_in = broker
        .connections()
        .into_iter()
        .find(|c| c.principal.is_some())
        .unwrap();
    assert_eq!(logged_in.login.as_deref(), Some("guest"));
    // The passcode is in no record, the header redacted.
    let handshake = logged_in.websocket.unwrap();
    assert!(
        handshake
            .headers
            .contains(&("authorization".to_owned(), "(redacted)".to_owned()))
    );
}

#[test]
fn the_stomp_version_stays_within_the_subprotocol_agreed() {
    let broker = Broker::start().unwrap();
    let (mut v11, chosen) = ws(broker.addr(), "/", &["v11.stomp"]);
    assert_eq!(chosen.as_deref(), Some("v11.stomp"));
    send(
        &mut v11,
        "CONNECT\naccept-version:1.0,1.1,1.2\nhost:h\n\n\0",
    );
    assert!(frames(&mut v11, 1)[0].starts_with("CONNECTED\nversion:1.1"));
    let (mut v10, _) = ws(broker.addr(), "/", &["v10.stomp"]);
    send(&mut v10, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    let error = frames(&mut v10, 1).remove(0);
    assert!(error.starts_with("ERROR\n"), "{error}");
    assert!(error.contains("\nversion:1.0\n"), "{error}");
    assert!(
        error.contains("the WebSocket subprotocol it agreed to allows 1.0"),
        "{error}"
    );
}

#[test]
fn a_websocket_only_port_serves_upgrades_and_answers_plain_stomp_400() {
    let broker = Broker::builder().ws_port(0).start().unwrap();
    let ws_addr = broker.ws_addr().unwrap();
    assert_eq!(broker.ws_url(), format!("ws://{ws_addr}/ws"));
    let (mut socket, chosen) = ws(ws_addr, "/ws", &["v12.stomp"]);
    assert_eq!(chosen.as_deref(), Some("v12.stomp"));
    send(&mut socket, "CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    assert!(frames(&mut socket, 1)[0].starts_with("CONNECTED"));
    let (answer, took) = {
        let mut stream = TcpStream::connect(ws_addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let started = Instant::now();
        stream.write_all(b"CONNECT\nhost:h\n\n\0").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        (answer, started.elapsed())
    };
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    assert!(
        answer.contains("this port serves STOMP over WebSocket only"),
        "{answer}"
    );
    assert!(took < Duration::from_millis(100), "{took:?}");
    // The STOMP port still takes both.
    Client::connect(broker.addr()).unwrap();
    let (_socket, _) = ws(broker.addr(), "/ws", &[]);
}
