//! Testing how an application copes when the RocketMQ gateway revokes its
//! publish permission mid-run.
//!
//! `cargo run --example rocketmq`

use stompbox::auth::Access;
use stompbox::auth::rocketmq_passcode;
use stompbox::{Broker, Client, Error};

/// The application under test: publishes orders; when the gateway refuses,
/// it reports the refusal instead of retrying forever, and reconnects later.
struct OrderPublisher {
    stomp: Option<Client>,
    addr: std::net::SocketAddr,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Sent,
    Forbidden(String),
}

impl OrderPublisher {
    const ACCESS_KEY: &'static str = "AK_orders";
    const SECRET: &'static str = "orders-secret";
    const CLIENT_ID: &'static str = "order-service-1";

    fn connect(addr: std::net::SocketAddr) -> Result<OrderPublisher, Error> {
        let stomp = Client::builder()
            .login(
                Self::ACCESS_KEY,
                rocketmq_passcode(Self::SECRET, Self::CLIENT_ID),
            )
            .header("client-id", Self::CLIENT_ID)
            .header("instance-id", "MQ_INST_test")
            .connect(addr)?;
        Ok(OrderPublisher {
            stomp: Some(stomp),
            addr,
        })
    }

    fn publish(&mut self, order: &str) -> Result<Outcome, Error> {
        if self.stomp.is_none() {
            *self = OrderPublisher::connect(self.addr)?;
        }
        let stomp = self.stomp.as_mut().expect("connected above");
        match stomp.send_with_receipt("/orders/created", order.to_owned()) {
            Ok(()) => Ok(Outcome::Sent),
            // The gateway closes the connection after an ERROR: forget it.
            Err(Error::Refused(frame)) => {
                self.stomp = None;
                Ok(Outcome::Forbidden(
                    frame.header("message").unwrap_or_default().to_owned(),
                ))
            }
            Err(other) => Err(other),
        }
    }
}

fn main() -> Result<(), Error> {
    let broker = Broker::builder()
        .rocketmq()
        .user(OrderPublisher::ACCESS_KEY, OrderPublisher::SECRET)
        .grant(OrderPublisher::ACCESS_KEY, "orders", Access::PUB)
        .start()?;
    let mut app = OrderPublisher::connect(broker.addr())?;
    assert_eq!(app.publish("order 1")?, Outcome::Sent);

    // The operator revokes PUB on topic "orders" while the app is connected.
    broker.revoke(OrderPublisher::ACCESS_KEY, "orders", Access::PUB);
    let outcome = app.publish("order 2")?;
    println!("after revoke: {outcome:?}");
    assert!(matches!(&outcome, Outcome::Forbidden(m) if m.contains("needs PUB on topic 'orders'")));
    let denial = &broker.permission_denials()[0];
    assert_eq!(
        (denial.principal.as_str(), denial.topic.as_str()),
        ("AK_orders", "orders")
    );
    assert_eq!(
        broker.published_to("/orders/created").unwrap().len(),
        1,
        "order 2 never got through"
    );

    // Granted again: the app reconnects and carries on.
    broker.grant(OrderPublisher::ACCESS_KEY, "orders", Access::PUB);
    assert_eq!(app.publish("order 3")?, Outcome::Sent);
    assert_eq!(broker.connections().len(), 2);
    Ok(())
}
