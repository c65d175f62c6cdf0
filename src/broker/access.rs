//! Access control while the broker runs: users, grants, and what was
//! refused.

use super::Broker;
use crate::journal::{AuthFailure, PermissionDenial};
use crate::permissions::Access;

impl Broker {
    /// Adds a user (or changes its passcode or secret); the next CONNECT
    /// with that login is checked against it.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{auth::Passwords, Broker, Client};
    ///
    /// let broker = Broker::builder().authenticator(Passwords).start()?;
    /// assert!(Client::builder().login("carol", "pw").connect(broker.addr()).is_err());
    /// broker.add_user("carol", "pw");
    /// assert!(Client::builder().login("carol", "pw").connect(broker.addr()).is_ok());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn add_user(&self, login: &str, passcode: &str) {
        self.state.users.insert(login, passcode);
    }

    /// Removes a user: later CONNECTs with that login are refused with
    /// `unknown login`; connections already open stay open. Returns whether
    /// the user existed.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    ///
    /// let broker = Broker::builder().user("dave", "pw").start()?;
    /// assert!(broker.remove_user("dave"));
    /// let err = Client::builder().login("dave", "pw").connect(broker.addr()).unwrap_err();
    /// assert!(err.to_string().contains("unknown login 'dave'"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn remove_user(&self, login: &str) -> bool {
        self.state.users.remove(login)
    }

    /// Grants `principal` `access` on topics matching `topic_pattern`, and
    /// turns permission checks on if they were off. Takes effect on the
    /// next frame of every connection.
    ///
    /// # Examples
    /// See [`Broker::revoke`].
    pub fn grant(&self, principal: &str, topic_pattern: &str, access: Access) {
        self.state
            .permissions
            .grant(principal, topic_pattern, access);
    }

    /// Takes `access` away from `principal`'s grant on `topic_pattern` (the
    /// same pattern it was granted with). An already connected client's next
    /// SEND (PUB) or SUBSCRIBE/UNSUBSCRIBE (SUB) there is refused with an
    /// ERROR, and its connection closed.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Error};
    /// use stompbox::auth::Access;
    ///
    /// let broker = Broker::builder().grant("anonymous", "/queue/*", Access::PUB).start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.send_with_receipt("/queue/a", "allowed")?;
    /// broker.revoke("anonymous", "/queue/*", Access::PUB);
    /// let err = client.send_with_receipt("/queue/a", "refused").unwrap_err();
    /// assert!(matches!(err, Error::Refused(_)));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn revoke(&self, principal: &str, topic_pattern: &str, access: Access) {
        self.state
            .permissions
            .revoke(principal, topic_pattern, access);
    }

    /// The refused CONNECTs, oldest first.
    ///
    /// # Examples
    /// See [`AuthFailure`].
    pub fn auth_failures(&self) -> Vec<AuthFailure> {
        self.inspect(|j| j.auth_failures().cloned().collect())
    }

    /// The frames refused for lack of permission, oldest first.
    ///
    /// # Examples
    /// See [`PermissionDenial`].
    pub fn permission_denials(&self) -> Vec<PermissionDenial> {
        self.inspect(|j| j.permission_denials().cloned().collect())
    }
}
