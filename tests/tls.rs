//! STOMP over TLS, and WebSocket over TLS (`wss`), on the broker's TLS port
//! (issue 12), with rustls as an independent client trusting the CA the
//! broker made at start.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use stompbox::frame::{Command, Decoded, Decoder, Frame, Limits};
use stompbox::{AckMode, Broker, Client, Version};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

type Tls = StreamOwned<ClientConnection, TcpStream>;

const PATIENCE: Duration = Duration::from_secs(5);

/// A client configuration trusting `ca_pem`, presenting `client` if given.
fn client_config(ca_pem: &str, client: Option<&stompbox::ClientCertificate>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(client) => {
            let chain = CertificateDer::pem_slice_iter(client.cert_pem.as_bytes())
                .map(Result::unwrap)
                .collect();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes());
            builder.with_client_auth_cert(chain, key.unwrap()).unwrap()
        }
    };
    Arc::new(config)
}

/// A TLS connection to `addr`, checking the certificate for `name`.
fn tls(addr: SocketAddr, ca_pem: &str, name: &str) -> Tls {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let connection = ClientConnection::new(client_config(ca_pem, None), name).unwrap();
    StreamOwned::new(connection, tcp)
}

/// Reads the next frame off a TLS stream.
fn frame(stream: &mut Tls, decoder: &mut Decoder) -> std::io::Result<Frame> {
    loop {
        if let Some(Decoded::Frame(frame)) = decoder.next_item().unwrap() {
            return Ok(frame);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk)?;
        assert!(n > 0, "the broker closed the connection");
        decoder.feed(&chunk[..n]);
    }
}

/// The next frame, which must be a `command`.
fn expect(stream: &mut Tls, decoder: &mut Decoder, command: Command) -> Frame {
    let frame = frame(stream, decoder).unwrap();
    assert_eq!(frame.command(), &command, "{frame}");
    frame
}

#[test]
fn stomp_over_tls_works_as_over_tcp_and_the_journal_says_tls() {
    let broker = Broker::builder().tls_port(0).start().unwrap();
    let ca = broker.tls_ca_pem().unwrap().to_owned();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/secure", AckMode::Auto).unwrap();

    let mut stream = tls(broker.tls_addr().unwrap(), &ca, "localhost");
    let mut decoder = Decoder::new(Limits::default());
    decoder.set_version(Some(Version::V1_2));
    stream
        .write_all(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\ndestination:/queue/secure\nreceipt:r\n\nover tls\0")
        .unwrap();
    expect(&mut stream, &mut decoder, Command::Connected);
    expect(&mut stream, &mut decoder, Command::Receipt);
    assert_eq!(consumer.recv().unwrap().body_text(), "over tls");
    // A large body, many records each way.
    let body = "x".repeat(300_000);
    consumer.send("/queue/back", body.clone()).unwrap();
    stream
        .write_all(b"SUBSCRIBE\nid:1\ndestination:/queue/back\n\n\0")
        .unwrap();
    let message = frame(&mut stream, &mut decoder).unwrap();
    assert_eq!(message.body().len(), body.len());

    let connection = broker
        .connections()
        .into_iter()
        .find(|c| c.transport == "tls")
        .expect("a tls connection");
    assert_eq!(
        broker.frames(connection.id).unwrap()[0]
            .frame
            .as_ref()
            .unwrap()
            .command(),
        &Command::Connect
    );

    stream.write_all(b"DISCONNECT\nreceipt:bye\n\n\0").unwrap();
    assert_eq!(
        frame(&mut stream, &mut decoder)
            .unwrap()
            .header("receipt-id"),
        Some("bye")
    );
    // The broker ends the session with close_notify: a clean end of stream.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
}

#[test]
fn the_generated_certificate_is_for_localhost_and_the_loopback_addresses_only() {
    let broker = Broker::builder().tls_port(0).start().unwrap();
    let ca = broker.tls_ca_pem().unwrap().to_owned();
    let addr = broker.tls_addr().unwrap();
    let mut by_ip = tls(addr, &ca, "127.0.0.1");
    by_ip.write_all(b"CONNECT\nhost:h\n\n\0").unwrap();
    let mut decoder = Decoder::new(Limits::default());
    expect(&mut by_ip, &mut decoder, Command::Connected);
    let mut elsewhere = tls(addr, &ca, "broker.example.com");
    let refused = elsewhere
        .write_all(b"CONNECT\nhost:h\n\n\0")
        .and_then(|()| {
            let mut byte = [0u8; 1];
            elsewhere.read(&mut byte)
        });
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("certificate"), "{error}");
}

#[test]
fn websocket_over_tls_is_wss() {
    let broker = Broker::builder().tls_port(0).start().unwrap();
    let ca = broker.tls_ca_pem().unwrap().to_owned();
    let addr = broker.tls_addr().unwrap();
    let stream = tls(addr, &ca, "localhost");
    let request = format!("wss://localhost:{}/ws", addr.port())
        .into_client_request()
        .unwrap();
    let mut request = request;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "v12.stomp".parse().unwrap());
    let (mut socket, _) = tungstenite::client(request, stream).expect("the upgrade over TLS");
    socket
        .send(Message::text("CONNECT\naccept-version:1.2\nhost:h\n\n\0"))
        .unwrap();
    let connected = loop {
        if let Message::Text(t) = socket.read().unwrap() {
            break t.as_str().to_owned();
        }
    };
    assert!(
        connected.starts_with("CONNECTED\nversion:1.2"),
        "{connected}"
    );
    broker
        .wait_until(
            |j| {
                j.connections()
                    .any(|c| c.transport == "wss" && c.is_connected())
            },
            PATIENCE,
        )
        .unwrap();
}

#[test]
fn plain_stomp_on_the_tls_port_gets_no_answer_but_a_close() {
    // Not TLS: the session fails at its first record, and the broker closes.
    let broker = Broker::builder().tls_port(0).start().unwrap();
    let mut plain = TcpStream::connect(broker.tls_addr().unwrap()).unwrap();
    plain.set_read_timeout(Some(PATIENCE)).unwrap();
    plain.write_all(b"CONNECT\nhost:h\n\n\0").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"CONNECTED"));
    // The plain port is unaffected.
    Client::connect(broker.addr()).unwrap();
}

#[test]
fn a_certificate_of_the_tests_own_is_served() {
    // Made by one broker, served by another: the CA still vouches for it.
    let maker = rcgen_identity();
    let broker = Broker::builder()
        .tls_port(0)
        .tls_identity(maker.0.clone(), maker.1)
        .start()
        .unwrap();
    assert_eq!(
        broker.tls_ca_pem(),
        None,
        "no CA made when a certificate is given"
    );
    let mut stream = tls(broker.tls_addr().unwrap(), &maker.2, "localhost");
    stream.write_all(b"CONNECT\nhost:h\n\n\0").unwrap();
    let mut decoder = Decoder::new(Limits::default());
    expect(&mut stream, &mut decoder, Command::Connected);
}

/// A server certificate and key for localhost, and the CA that signed it.
fn rcgen_identity() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca_cert, &ca_key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), ca_cert.pem())
}

/// The error a client trusting the broker's CA meets at the handshake.
fn handshake_error(broker: &Broker) -> std::io::Error {
    let ca = broker.tls_ca_pem().unwrap().to_owned();
    let mut stream = tls(broker.tls_addr().unwrap(), &ca, "localhost");
    stream
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    stream
        .write_all(b"CONNECT\nhost:h\n\n\0")
        .and_then(|()| stream.read(&mut [0u8; 1]))
        .unwrap_err()
}

#[rstest::rstest]
#[case::expired(stompbox::TlsProblem::Expired, "expired")]
#[case::wrong_host(stompbox::TlsProblem::WrongHost, "not valid for name")]
#[case::unknown_ca(stompbox::TlsProblem::UnknownCa, "UnknownIssuer")]
fn certificate_problems_on_purpose_fail_the_clients_handshake(
    #[case] problem: stompbox::TlsProblem,
    #[case] says: &str,
) {
    let broker = Broker::builder()
        .tls_port(0)
        .tls_problem(problem)
        .start()
        .unwrap();
    let error = handshake_error(&broker).to_string();
    assert!(error.contains(says), "{problem:?}: {error}");
    // The plain port works as ever.
    Client::connect(broker.addr()).unwrap();
}

#[test]
fn a_stalled_handshake_is_accepted_and_never_answered() {
    let broker = Broker::builder()
        .tls_port(0)
        .tls_problem(stompbox::TlsProblem::StalledHandshake)
        .start()
        .unwrap();
    let error = handshake_error(&broker);
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{error}"
    );
    // Stopping the broker closes what it held.
    let started = std::time::Instant::now();
    drop(broker);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// A TLS connection presenting `client` (PEM certificate and key).
fn tls_as(addr: SocketAddr, ca_pem: &str, client: &stompbox::ClientCertificate) -> Tls {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let config = client_config(ca_pem, Some(client));
    StreamOwned::new(ClientConnection::new(config, name).unwrap(), tcp)
}

#[test]
fn mutual_tls_requires_an_issued_certificate_whose_name_is_the_principal() {
    use stompbox::auth::Access;
    let broker = Broker::builder()
        .tls_port(0)
        .tls_client_certificates(true)
        .grant("alice", "/queue/orders", Access::PUB)
        .enforce_permissions(true)
        .start()
        .unwrap();
    let ca = broker.tls_ca_pem().unwrap().to_owned();
    let addr = broker.tls_addr().unwrap();
    // Without a certificate: the handshake fails.
    let error = handshake_error(&broker).to_string();
    assert!(error.contains("CertificateRequired"), "{error}");

    let alice = broker.issue_client_cert("alice").unwrap();
    let mut stream = tls_as(addr, &ca, &alice);
    let mut decoder = Decoder::new(Limits::default());
    decoder.set_version(Some(Version::V1_2));
    stream
        .write_all(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\ndestination:/queue/orders\nreceipt:r\n\nok\0")
        .unwrap();
    expect(&mut stream, &mut decoder, Command::Connected);
    expect(&mut stream, &mut decoder, Command::Receipt);
    let connection = broker
        .connections()
        .into_iter()
        .find(|c| c.is_connected())
        .unwrap();
    assert_eq!(connection.principal.as_deref(), Some("alice"));

    // Bob's certificate works, but his grants are his own.
    let bob = broker.issue_client_cert("bob").unwrap();
    let mut stream = tls_as(addr, &ca, &bob);
    let mut decoder = Decoder::new(Limits::default());
    decoder.set_version(Some(Version::V1_2));
    stream
        .write_all(
            b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\ndestination:/queue/orders\n\nno\0",
        )
        .unwrap();
    expect(&mut stream, &mut decoder, Command::Connected);
    let denied = frame(&mut stream, &mut decoder).unwrap();
    assert_eq!(denied.command(), &Command::Error);
    assert!(
        denied
            .header("message")
            .unwrap()
            .contains("principal 'bob'"),
        "{denied}"
    );
}

#[test]
fn client_certificates_need_a_tls_port_and_the_brokers_own_ca() {
    assert!(Broker::start().unwrap().issue_client_cert("x").is_err());
    let own = rcgen_identity();
    let broker = Broker::builder()
        .tls_port(0)
        .tls_identity(own.0, own.1)
        .start()
        .unwrap();
    let error = broker.issue_client_cert("x").unwrap_err().to_string();
    assert!(error.contains("only by a CA the broker made"), "{error}");
}
