//! Temporary destinations and request/reply: `/temp-queue/NAME` private to
//! the connection that names it, `reply-to` rewritten so a reply routes
//! back (ActiveMQ's `/remote-temp-queue/...`, RabbitMQ's `/reply-queue/...`).

mod support;

use rstest::rstest;
use stompbox::{AckMode, Broker, Client};
use support::{QUIET, SECOND, Server, server};

#[rstest]
fn a_reply_to_a_temporary_queue_comes_back_to_its_owner(server: Server) {
    let mut requester = server.client();
    requester
        .subscribe("/temp-queue/replies", AckMode::Auto)
        .unwrap();
    let mut service = server.client();
    service
        .subscribe("/queue/rr-requests", AckMode::Auto)
        .unwrap();
    requester
        .send_with_headers(
            "/queue/rr-requests",
            "ping",
            &[("reply-to", "/temp-queue/replies")],
        )
        .unwrap();
    let request = service.recv_timeout(SECOND).unwrap();
    let reply_to = request.header("reply-to").unwrap().to_owned();
    assert_ne!(
        reply_to, "/temp-queue/replies",
        "rewritten for the receiver"
    );
    service.send(&reply_to, "pong").unwrap();
    let reply = requester.recv_timeout(SECOND).unwrap();
    assert_eq!(reply.body_text(), "pong");
    assert_eq!(reply.header("destination"), Some("/temp-queue/replies"));
}

#[rstest]
fn two_connections_temporary_queues_of_one_name_are_apart(server: Server) {
    let mut a = server.client();
    a.subscribe("/temp-queue/mine", AckMode::Auto).unwrap();
    let mut b = server.client();
    b.subscribe("/temp-queue/mine", AckMode::Auto).unwrap();
    a.send_with_receipt("/temp-queue/mine", "for a").unwrap();
    assert_eq!(a.recv_timeout(SECOND).unwrap().body_text(), "for a");
    assert!(b.recv_timeout(QUIET).is_err(), "b's queue is another queue");
}

#[test]
fn a_temporary_queue_ends_with_its_connection() {
    let broker = Broker::start().unwrap();
    let mut owner = Client::connect(broker.addr()).unwrap();
    owner.subscribe("/queue/req", AckMode::Auto).unwrap();
    owner
        .send_with_headers("/queue/req", "ask", &[("reply-to", "/temp-queue/r")])
        .unwrap();
    let reply_to = owner
        .recv_timeout(SECOND)
        .unwrap()
        .header("reply-to")
        .unwrap()
        .to_owned();
    assert_eq!(
        reply_to,
        format!(
            "/remote-temp-queue/ID:stompbox-{}:r",
            broker.connections()[0].id
        )
    );
    let owner_id = broker.connections()[0].id;
    owner.disconnect().unwrap();
    broker
        .wait_until(
            |j| {
                j.connections()
                    .any(|c| c.id == owner_id && c.closed.is_some())
            },
            std::time::Duration::from_secs(5),
        )
        .unwrap();
    let mut late = Client::connect(broker.addr()).unwrap();
    let refused = late.send_with_receipt(&reply_to, "too late").unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("Cannot publish to a deleted Destination"),
        "{refused}"
    );
}

#[test]
fn on_rabbitmq_terms_the_reply_queue_needs_no_subscribe() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let connect = || Client::builder().host("/").connect(broker.addr()).unwrap();
    let mut requester = connect();
    let mut service = connect();
    service.subscribe("/queue/requests", AckMode::Auto).unwrap();
    requester
        .send_with_headers("/queue/requests", "ping", &[("reply-to", "/temp-queue/r")])
        .unwrap();
    let request = service.recv_timeout(SECOND).unwrap();
    let reply_to = request.header("reply-to").unwrap().to_owned();
    assert!(reply_to.starts_with("/reply-queue/amq.gen-"), "{reply_to}");
    service.send(&reply_to, "pong").unwrap();
    let reply = requester.recv_timeout(SECOND).unwrap();
    assert_eq!(reply.body_text(), "pong");
    assert_eq!(reply.subscription(), Some("/temp-queue/r"));
    let refused = requester
        .subscribe("/temp-queue/other", AckMode::Auto)
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "broker sent ERROR: Invalid destination"
    );
}

#[test]
fn the_rabbitmq_profile_refuses_unknown_prefixes_as_rabbitmq_does() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    let refused = client.send_with_receipt("/weird/x", "w").unwrap_err();
    let stompbox::Error::Refused(frame) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(frame.header("message"), Some("Unknown destination"));
    assert!(frame.body_text().contains("Valid destination types are"));
}
