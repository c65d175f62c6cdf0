//! Expectations registered on a broker, checked by `verify`, on drop, or by a
//! scoped guard.

use std::fmt;

use super::Broker;
use crate::expect::{Expectation, VerificationReport, failures};

impl Broker {
    /// Registers an expectation, checked when the broker is dropped and by
    /// [`Broker::verify`].
    ///
    /// On drop, the broker first stops (every thread joined, the port closed)
    /// and then panics if an expectation is unmet, unless the thread is
    /// already panicking (a failed assertion is not hidden behind a second
    /// panic).
    ///
    /// # Examples
    /// ```should_panic
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start().unwrap();
    /// broker.expect(Expectation::published("/queue/orders").times(1));
    /// drop(broker); // panics: "exactly 1 message(s) published to /queue/orders: 0 published"
    /// ```
    #[track_caller]
    pub fn expect(&self, expectation: Expectation) {
        let expectation = expectation.declared_at(std::panic::Location::caller());
        self.expectations.lock().push(expectation);
    }

    /// Registers an expectation checked when the returned guard is dropped
    /// (or by [`ExpectationGuard::verify`]); message counts and errors count
    /// only from now on.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.publish("/queue/a", "before the scope");
    /// {
    ///     let _phase = broker.expect_scoped(Expectation::published("/queue/a").times(1));
    ///     broker.publish("/queue/a", "in the scope");
    /// } // checked here: one message since the guard was made
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    #[track_caller]
    pub fn expect_scoped(&self, expectation: Expectation) -> ExpectationGuard<'_> {
        let expectation = expectation.declared_at(std::panic::Location::caller());
        let since = self.inspect(|j| j.now());
        ExpectationGuard {
            broker: self,
            expectation: expectation.counting_from(since),
        }
    }

    /// Checks every expectation registered with [`Broker::expect`] now.
    ///
    /// # Panics
    /// If any is unmet, listing the unmet ones and what the broker saw.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::never_published("/queue/a"));
    /// broker.verify();
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    #[track_caller]
    pub fn verify(&self) {
        if let Some(report) = self.unmet_expectations() {
            panic!("{report}");
        }
    }

    /// Checks the registered expectations now, without panicking.
    ///
    /// # Errors
    /// The [`VerificationReport`] of those that are unmet.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// broker.expect(Expectation::published("/queue/a").times(1));
    /// assert_eq!(broker.check().unwrap_err().unmet.len(), 1);
    /// broker.publish("/queue/a", "x");
    /// assert!(broker.check().is_ok());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn check(&self) -> Result<(), VerificationReport> {
        self.unmet_expectations().map_or(Ok(()), Err)
    }

    /// The failure report of the registered expectations, if any is unmet.
    pub(super) fn unmet_expectations(&self) -> Option<VerificationReport> {
        let expectations = self.expectations.lock();
        if expectations.is_empty() {
            return None;
        }
        self.with_faults(self.inspect(|j| failures(&expectations, j)))
    }

    fn check_one(&self, expectation: &Expectation) -> Option<VerificationReport> {
        self.with_faults(self.inspect(|j| failures(std::slice::from_ref(expectation), j)))
    }

    /// The report, with the faults' seed and hits when any was injected.
    fn with_faults(&self, report: Option<VerificationReport>) -> Option<VerificationReport> {
        report.map(|mut report| {
            if self.state.faults.ever_armed() {
                report.saw.push_str(&self.state.faults.report());
            }
            let title = format!(
                "{} of {} expectations unmet",
                report.unmet.len(),
                report.checked
            );
            self.state.write_html_report(&title, &mut report.saw);
            report
        })
    }
}

/// A scoped expectation from [`Broker::expect_scoped`], checked when the
/// guard is dropped.
///
/// # Examples
/// See [`Broker::expect_scoped`].
#[must_use = "the expectation is checked when the guard is dropped; binding it to `_` drops it at once"]
pub struct ExpectationGuard<'a> {
    broker: &'a Broker,
    expectation: Expectation,
}

impl ExpectationGuard<'_> {
    /// Checks the expectation now.
    ///
    /// # Panics
    /// If it is unmet.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Expectation};
    ///
    /// let broker = Broker::start()?;
    /// let guard = broker.expect_scoped(Expectation::no_errors());
    /// guard.verify();
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    #[track_caller]
    pub fn verify(&self) {
        if let Some(report) = self.broker.check_one(&self.expectation) {
            panic!("{report}");
        }
    }
}

impl Drop for ExpectationGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Some(report) = self.broker.check_one(&self.expectation) {
            panic!("{report}");
        }
    }
}

impl fmt::Debug for ExpectationGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpectationGuard")
            .field("expectation", &self.expectation)
            .finish_non_exhaustive()
    }
}
