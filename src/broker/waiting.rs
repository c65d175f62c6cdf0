//! The waits for async tests: [`WaitFuture`], the blocking waits as futures
//! any executor can poll (tokio, async-std, smol, `futures::executor`), woken
//! by the change that satisfies them, as the blocking ones are, never by
//! polling; and the hint a blocking wait's timeout gives when it ran on an
//! async runtime's only thread.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::Broker;
use super::inspect::timeout_error;
use crate::error::{Awaited, Error};
use crate::journal::{
    AckKind, AckRecord, ConnectionInfo, Journal, PublishedMessage, SubscriptionInfo,
};
use crate::state::waits::Signal;
use crate::state::{BrokerState, Watch};

type Check<T> = Box<dyn FnMut(&Journal) -> Option<T> + Send>;
type Describe = Box<dyn FnOnce(&Journal) -> String + Send>;

/// A wait on the broker as a future: it resolves to what the blocking wait
/// returns, or to its [`Error::Timeout`] (with the same report). It owns
/// what it needs (it does not borrow the [`Broker`]), so it can be spawned.
/// Dropping it ends the wait.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let broker = stompbox::Broker::start()?;
/// let wait = broker.wait_for_messages_async("/queue/a", 1, Duration::from_secs(5));
/// broker.publish("/queue/a", "hello");
/// let messages = futures::executor::block_on(wait)?;
/// assert_eq!(messages[0].body_text(), "hello");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[must_use = "a wait does nothing until it is awaited"]
pub struct WaitFuture<T> {
    state: Arc<BrokerState>,
    watch: Watch,
    check: Check<T>,
    timeout: Duration,
    deadline: Instant,
    awaited: Option<(Awaited, Describe)>,
    waker: Arc<Mutex<Option<Waker>>>,
    registered: Option<u64>,
    timer: Option<Timer>,
}

impl<T> fmt::Debug for WaitFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("watch", &self.watch)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<T> WaitFuture<T> {
    fn new(
        broker: &Broker,
        watch: Watch,
        timeout: Duration,
        check: impl FnMut(&Journal) -> Option<T> + Send + 'static,
        awaited: Awaited,
        describe: impl FnOnce(&Journal) -> String + Send + 'static,
    ) -> WaitFuture<T> {
        WaitFuture {
            state: broker.state.clone(),
            watch,
            check: Box::new(check),
            timeout,
            deadline: Instant::now() + timeout,
            awaited: Some((awaited, Box::new(describe))),
            waker: Arc::new(Mutex::new(None)),
            registered: None,
            timer: None,
        }
    }
}

impl<T> Future for WaitFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The waker is in place before the check, so a pass that follows the
        // check finds it.
        *this.waker.lock() = Some(cx.waker().clone());
        let signal = Signal::Task(this.waker.clone());
        let check = &mut this.check;
        if let Some(found) =
            this.state
                .check_or_register(&mut this.registered, &this.watch, &signal, |j| check(j))
        {
            this.timer = None;
            return Poll::Ready(Ok(found));
        }
        if Instant::now() >= this.deadline {
            if let Some(id) = this.registered.take() {
                this.state.unregister(id);
            }
            this.timer = None;
            let (awaited, describe) = this.awaited.take().expect("polled after completion");
            return Poll::Ready(Err(timeout_error(
                &this.state,
                awaited,
                this.timeout,
                describe,
            )));
        }
        if this.timer.is_none() {
            this.timer = Some(Timer::start(this.deadline, this.waker.clone()));
        }
        Poll::Pending
    }
}

impl<T> Drop for WaitFuture<T> {
    fn drop(&mut self) {
        if let Some(id) = self.registered.take() {
            self.state.unregister(id);
        }
    }
}

/// Wakes a pending wait at its deadline, so it can time out; stopped and
/// joined when the wait ends.
struct Timer {
    cancelled: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Timer {
    fn start(deadline: Instant, waker: Arc<Mutex<Option<Waker>>>) -> Timer {
        let cancelled = Arc::new((Mutex::new(false), Condvar::new()));
        let watched = cancelled.clone();
        let thread = std::thread::Builder::new()
            .name("stompbox-wait-timer".into())
            .spawn(move || {
                let (flag, signal) = &*watched;
                let mut stop = flag.lock();
                while !*stop {
                    if signal.wait_until(&mut stop, deadline).timed_out() {
                        break;
                    }
                }
                if !*stop {
                    drop(stop);
                    if let Some(waker) = waker.lock().take() {
                        waker.wake();
                    }
                }
            })
            .ok();
        Timer { cancelled, thread }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let (flag, signal) = &*self.cancelled;
        *flag.lock() = true;
        signal.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Broker {
    /// [`Broker::wait_for_messages`] for async tests: the same wait as a
    /// [`WaitFuture`], which does not block the runtime's thread.
    ///
    /// # Examples
    /// See [`WaitFuture`].
    pub fn wait_for_messages_async(
        &self,
        destination: &str,
        count: usize,
        timeout: Duration,
    ) -> WaitFuture<Vec<PublishedMessage>> {
        let wanted = destination.to_owned();
        let described = destination.to_owned();
        WaitFuture::new(
            self,
            Watch::Published(destination.into()),
            timeout,
            move |j| {
                (j.count_published_to(&wanted) >= count).then(|| j.published_to(&wanted).collect())
            },
            Awaited::Messages {
                destination: destination.to_owned(),
                count,
            },
            move |j| j.message_summary(&described),
        )
    }

    /// [`Broker::wait_for_acks`] for async tests.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let broker = stompbox::Broker::start()?;
    /// let wait = broker.wait_for_acks_async(1, Duration::from_millis(10));
    /// let err = futures::executor::block_on(wait).unwrap_err();
    /// assert!(err.to_string().contains("waiting for 1 ACK"), "{err}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn wait_for_acks_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> WaitFuture<Vec<AckRecord>> {
        WaitFuture::new(
            self,
            Watch::Acks,
            timeout,
            move |j| {
                (j.count_acks(AckKind::Ack) >= count)
                    .then(|| j.acks().filter(|a| a.kind == AckKind::Ack).collect())
            },
            Awaited::Acks { count },
            Journal::summary,
        )
    }

    /// [`Broker::wait_for_connections`] for async tests.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let broker = stompbox::Broker::start()?;
    /// let wait = broker.wait_for_connections_async(1, Duration::from_secs(5));
    /// let _client = stompbox::Client::connect(broker.addr())?;
    /// assert_eq!(futures::executor::block_on(wait)?.len(), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn wait_for_connections_async(
        &self,
        count: usize,
        timeout: Duration,
    ) -> WaitFuture<Vec<ConnectionInfo>> {
        WaitFuture::new(
            self,
            Watch::Connections,
            timeout,
            move |j| {
                (j.count_connected() >= count).then(|| {
                    j.connections()
                        .filter(|c| c.is_connected())
                        .cloned()
                        .collect()
                })
            },
            Awaited::Connections { count },
            Journal::summary,
        )
    }

    /// [`Broker::wait_for_subscription`] for async tests.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{AckMode, Broker, Client};
    /// let broker = Broker::start()?;
    /// let wait = broker.wait_for_subscription_async("/queue/a", Duration::from_secs(5));
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", AckMode::Auto)?;
    /// assert_eq!(futures::executor::block_on(wait)?.destination, "/queue/a");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn wait_for_subscription_async(
        &self,
        destination: &str,
        timeout: Duration,
    ) -> WaitFuture<SubscriptionInfo> {
        let wanted = destination.to_owned();
        WaitFuture::new(
            self,
            Watch::Subscriptions,
            timeout,
            move |j| {
                if !j.has_subscriber(&wanted) {
                    return None;
                }
                j.subscriptions()
                    .into_iter()
                    .find(|s| s.destination == wanted)
            },
            Awaited::Subscription {
                destination: destination.to_owned(),
            },
            Journal::summary,
        )
    }

    /// [`Broker::wait_until`] for async tests: resolves once `condition`
    /// holds for the journal, re-checked on every change.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let broker = stompbox::Broker::start()?;
    /// let wait = broker.wait_until_async(|j| j.published().count() == 2, Duration::from_secs(5));
    /// broker.publish("/queue/a", "1");
    /// broker.publish("/topic/b", "2");
    /// futures::executor::block_on(wait)?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn wait_until_async(
        &self,
        mut condition: impl FnMut(&Journal) -> bool + Send + 'static,
        timeout: Duration,
    ) -> WaitFuture<()> {
        WaitFuture::new(
            self,
            Watch::Anything,
            timeout,
            move |j| condition(j).then_some(()),
            Awaited::Condition,
            Journal::summary,
        )
    }
}

/// What a blocking wait's timeout says when it ran on an async runtime's
/// thread, which it kept from running the code under test. Known for tokio
/// with the `tokio` feature (definitely, on a current-thread runtime);
/// `None` otherwise.
pub(super) fn blocking_hint() -> Option<&'static str> {
    #[cfg(feature = "tokio")]
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        if let Ok(handle) = Handle::try_current() {
            return Some(match handle.runtime_flavor() {
                RuntimeFlavor::CurrentThread => {
                    "\nThis blocking wait ran on the thread of a current-thread tokio runtime (#[tokio::test]): \
                     while it waited, no task on that runtime ran, the code under test included. \
                     Await the async form instead (wait_for_messages_async, wait_for_acks_async, ...)."
                }
                _ => {
                    "\nThis blocking wait ran on a tokio runtime's worker thread, which it kept from running \
                     tasks. Await the async form instead (wait_for_messages_async, wait_for_acks_async, ...)."
                }
            });
        }
    }
    None
}
