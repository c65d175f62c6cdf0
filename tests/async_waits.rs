//! Async tests: the code under test is an async STOMP client from crates.io
//! (async-stomp, on tokio) running on the test's own runtime, and the test
//! awaits the broker's waits instead of blocking the runtime's thread.

use std::time::Duration;

use async_stomp::client::{Connector, Subscriber};
use async_stomp::{FromServer, ToServer};
use std::future::Future;

use futures::{SinkExt, StreamExt};
use stompbox::Broker;

const PATIENCE: Duration = Duration::from_secs(5);

/// The application: publishes an order, as an async service would.
async fn place_order(addr: std::net::SocketAddr, order: &str) {
    let mut conn = Connector::builder()
        .server(addr)
        .virtualhost("localhost")
        .connect()
        .await
        .expect("connect");
    conn.send(
        ToServer::Send {
            destination: "/queue/orders".into(),
            transaction: None,
            headers: Some(vec![("kind".into(), "order".into())]),
            body: Some(order.as_bytes().to_vec()),
        }
        .into(),
    )
    .await
    .expect("send");
    // Stays connected until the broker has the message (the test waits).
    let _ = tokio::time::timeout(PATIENCE, conn.next()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_wait_lets_the_app_run_on_the_same_thread() {
    let broker = Broker::start().unwrap();
    let app = tokio::spawn(place_order(broker.addr(), "order-1"));
    let published = broker
        .wait_for_messages_async("/queue/orders", 1, PATIENCE)
        .await
        .unwrap();
    assert_eq!(published[0].body_text(), "order-1");
    assert_eq!(published[0].header("kind"), Some("order"));
    let connections = broker
        .wait_for_connections_async(1, PATIENCE)
        .await
        .unwrap();
    assert_eq!(connections.len(), 1);
    app.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_consumer_gets_what_the_test_publishes() {
    let broker = Broker::start().unwrap();
    let addr = broker.addr();
    let consumer = tokio::spawn(async move {
        let mut conn = Connector::builder()
            .server(addr)
            .virtualhost("localhost")
            .connect()
            .await
            .expect("connect");
        let subscribe = Subscriber::builder()
            .destination("/queue/jobs")
            .id("worker")
            .subscribe();
        conn.send(subscribe).await.expect("subscribe");
        loop {
            let frame = conn.next().await.expect("a frame").expect("decoded");
            if let FromServer::Message { body, .. } = frame.content {
                return String::from_utf8(body.unwrap_or_default()).unwrap();
            }
        }
    });
    broker
        .wait_for_subscription_async("/queue/jobs", PATIENCE)
        .await
        .unwrap();
    broker.publish("/queue/jobs", "job-1");
    let got = tokio::time::timeout(PATIENCE, consumer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, "job-1");
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocking_wait_on_the_runtime_thread_says_so_when_it_times_out() {
    let broker = Broker::start().unwrap();
    // Spawned, but it cannot run: the blocking wait below holds the
    // runtime's only thread for its whole timeout.
    let app = tokio::spawn(place_order(broker.addr(), "never sent"));
    let err = broker
        .wait_for_messages("/queue/orders", 1, Duration::from_millis(200))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("current-thread tokio runtime") && text.contains("wait_for_messages_async"),
        "{text}"
    );
    app.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_wait_times_out_with_the_same_report() {
    let broker = Broker::start().unwrap();
    broker.publish("/queue/other", "elsewhere");
    let err = broker
        .wait_for_messages_async("/queue/orders", 1, Duration::from_millis(50))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("waiting for 1 message published to /queue/orders"),
        "{text}"
    );
    assert!(text.contains("/queue/other: 1"), "{text}");
    assert!(
        !text.contains("tokio runtime"),
        "an async wait blocks nothing: {text}"
    );
}

#[test]
fn a_dropped_wait_leaves_nothing_behind() {
    let broker = Broker::start().unwrap();
    let wait = broker.wait_for_acks_async(1, Duration::from_secs(60));
    let mut wait = Box::pin(wait);
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    let started = std::time::Instant::now();
    drop(wait);
    drop(broker);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the timer thread ends at once"
    );
}
