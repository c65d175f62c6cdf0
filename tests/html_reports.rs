//! HTML failure reports: a failed wait or an unmet expectation also writes a
//! self-contained page (the report's text and the sequence diagram's data
//! and code) into the report directory, and names it in its message.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use stompbox::{AckMode, Broker, Client, Expectation};
use support::SECOND;

/// A directory of this test's own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("stompbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }

    fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path a failure's message names.
fn named_report(message: &str) -> PathBuf {
    let line = message
        .lines()
        .find_map(|line| line.strip_prefix("HTML report: "))
        .unwrap_or_else(|| panic!("no report named in:\n{message}"));
    PathBuf::from(line)
}

#[test]
fn a_failed_wait_writes_a_page_with_the_report_and_the_diagram() {
    let dir = Dir::new("wait-report");
    let broker = Broker::builder().report_dir(Some(&dir.0)).start().unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/jobs", AckMode::Client).unwrap();
    let mut producer = Client::builder()
        .header("client-id", "shop</script>")
        .connect(broker.addr())
        .unwrap();
    producer
        .send_with_receipt("/queue/jobs", "job <1>")
        .unwrap();
    let message = consumer.recv_timeout(SECOND).unwrap();
    consumer.ack(&message).unwrap();

    let failure = broker
        .wait_for_messages("/queue/other", 1, Duration::from_millis(10))
        .unwrap_err()
        .to_string();
    let path = named_report(&failure);
    assert_eq!(dir.files(), std::slice::from_ref(&path));
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("timed out after 10ms waiting for 1 message published to /queue/other"));
    assert!(html.contains("published (1 message) per destination: /queue/jobs: 1"));
    // The diagram's data: both lanes, the frames in order, the message.
    assert!(
        html.contains(r#"{"id":1,"label":"connection 1"}"#),
        "{html}"
    );
    assert!(
        html.contains(r#""label":"2: shop\u003c/script\u003e""#),
        "a name cannot end the script"
    );
    assert!(html.contains(r#""command":"SEND","headers":[["destination","/queue/jobs"]"#));
    assert!(html.contains(r#""body":"job \u003c1\u003e""#));
    assert!(html.contains(r#"{"message_id":"m-1","connection":2,"destination":"/queue/jobs""#));
    assert!(
        html.contains("StompboxDiagram.render("),
        "the diagram's code is in the page"
    );
    assert!(
        !html.contains("<script src"),
        "nothing to fetch: it opens from disk"
    );
    let sent = html.find(r#""command":"SEND""#).unwrap();
    let acked = html.find(r#""command":"ACK""#).unwrap();
    assert!(sent < acked, "frames in time order");
}

#[test]
fn an_unmet_expectation_writes_one_too() {
    let dir = Dir::new("expectation-report");
    let broker = Broker::builder().report_dir(Some(&dir.0)).start().unwrap();
    broker.publish("/queue/typo", "misrouted");
    broker.expect(Expectation::published("/queue/orders"));
    let report = broker.check().unwrap_err().to_string();
    // Still unmet when the broker is dropped, which panics saying so.
    assert!(catch_unwind(AssertUnwindSafe(|| drop(broker))).is_err());
    let html = std::fs::read_to_string(named_report(&report)).unwrap();
    assert!(html.contains("1 of 1 expectations unmet"), "{html}");
    assert!(html.contains("/queue/typo: 1"));
}

#[test]
fn a_report_directory_that_cannot_be_written_is_said_so_and_the_failure_stands() {
    let file = std::env::temp_dir().join(format!("stompbox-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, "a file, not a directory").unwrap();
    let broker = Broker::builder().report_dir(Some(&file)).start().unwrap();
    let failure = broker
        .wait_for_messages("/queue/a", 1, Duration::from_millis(5))
        .unwrap_err()
        .to_string();
    std::fs::remove_file(&file).unwrap();
    assert!(failure.starts_with("timed out after 5ms"), "{failure}");
    assert!(
        failure.contains("(no HTML report: cannot write in"),
        "{failure}"
    );
}

#[test]
fn without_a_report_directory_nothing_is_written() {
    let broker = Broker::builder()
        .report_dir(None::<PathBuf>)
        .start()
        .unwrap();
    let failure = broker
        .wait_for_messages("/queue/a", 1, Duration::from_millis(5))
        .unwrap_err()
        .to_string();
    assert!(!failure.contains("HTML report"), "{failure}");
    broker.expect(Expectation::published("/queue/a"));
    let report = broker.check().unwrap_err().to_string();
    assert!(catch_unwind(AssertUnwindSafe(|| drop(broker))).is_err());
    assert!(!report.contains("HTML report"), "{report}");
}
