//! Access control: who a CONNECT frame says it is and whether to believe it,
//! and what each principal may do ([`Access`] on topics named through a
//! [`TopicMapping`]; grants are made with
//! [`BrokerBuilder::grant`](crate::BrokerBuilder::grant) and
//! [`Broker::grant`](crate::Broker::grant)).
//!
//! An [`Authenticator`] sees the CONNECT frame's `login`, `passcode` and every
//! header, plus the broker's table of [`Users`] (which a test can change while
//! the broker runs), and returns the authenticated principal or the reason for
//! refusing. Three are built in: [`AllowAll`] (the default), [`Passwords`] (the
//! table holds each login's passcode) and [`RocketMqSignature`] (the table
//! holds each AccessKey's secret; the passcode is a signature of `client-id`).

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use parking_lot::RwLock;
use sha1::Sha1;

use crate::protocol::frame::Headers;

pub use crate::permissions::{Access, TopicMapping};

/// What a client presented in its CONNECT frame.
///
/// # Examples
/// ```
/// use stompbox::{auth::{Authenticator, ConnectRequest, Passwords, Users}};
/// use stompbox::frame::Headers;
///
/// let users = Users::default();
/// users.insert("alice", "pw");
/// let mut headers = Headers::new();
/// headers.push("login", "alice");
/// headers.push("passcode", "pw");
/// let request = ConnectRequest { headers: &headers, users: &users };
/// assert_eq!(request.login(), Some("alice"));
/// assert_eq!(Passwords.authenticate(&request).unwrap(), "alice");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ConnectRequest<'a> {
    /// Every header of the CONNECT (or STOMP) frame.
    pub headers: &'a Headers,
    /// The broker's users: login (or AccessKey) to passcode (or secret).
    pub users: &'a Users,
}

impl ConnectRequest<'_> {
    /// The `login` header.
    ///
    /// # Examples
    /// See [`ConnectRequest`].
    pub fn login(&self) -> Option<&str> {
        self.headers.get("login")
    }

    /// The `passcode` header.
    ///
    /// # Examples
    /// See [`ConnectRequest`].
    pub fn passcode(&self) -> Option<&str> {
        self.headers.get("passcode")
    }

    /// The `client-id` header.
    ///
    /// # Examples
    /// See [`RocketMqSignature`].
    pub fn client_id(&self) -> Option<&str> {
        self.headers.get("client-id")
    }
}

/// Decides whether a CONNECT is allowed: `Ok(principal)` names who the
/// connection acts as (permissions are granted to principals), `Err(reason)`
/// refuses it with an ERROR frame whose `message` is the reason.
///
/// # Examples
/// A custom rule: only logins ending in `@test`.
/// ```
/// use stompbox::auth::{Authenticator, ConnectRequest};
/// use stompbox::{Broker, Client};
///
/// struct TestAccounts;
/// impl Authenticator for TestAccounts {
///     fn authenticate(&self, request: &ConnectRequest<'_>) -> Result<String, String> {
///         match request.login() {
///             Some(login) if login.ends_with("@test") => Ok(login.to_owned()),
///             _ => Err("only @test accounts".to_owned()),
///         }
///     }
/// }
///
/// let broker = Broker::builder().authenticator(TestAccounts).start()?;
/// assert!(Client::builder().login("bob@test", "").connect(broker.addr()).is_ok());
/// assert!(Client::builder().login("bob@prod", "").connect(broker.addr()).is_err());
/// # Ok::<(), stompbox::Error>(())
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The principal the connection acts as, or why it is refused.
    ///
    /// # Errors
    /// The refusal's reason, sent as the ERROR frame's `message`.
    fn authenticate(&self, request: &ConnectRequest<'_>) -> Result<String, String>;
}

/// Accepts everyone; the principal is the `login`, or `anonymous` without one.
///
/// # Examples
/// ```
/// use stompbox::auth::{AllowAll, Authenticator, ConnectRequest, Users};
/// let request = ConnectRequest { headers: &stompbox::frame::Headers::new(), users: &Users::default() };
/// assert_eq!(AllowAll.authenticate(&request).unwrap(), "anonymous");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

impl Authenticator for AllowAll {
    fn authenticate(&self, request: &ConnectRequest<'_>) -> Result<String, String> {
        Ok(request.login().unwrap_or("anonymous").to_owned())
    }
}

/// Logins and passcodes from the broker's [`Users`] table.
///
/// Refusals: `missing login`, `unknown login 'x'`, `wrong passcode for login 'x'`.
///
/// # Examples
/// See [`ConnectRequest`] and [`BrokerBuilder::user`](crate::BrokerBuilder::user).
#[derive(Clone, Copy, Debug, Default)]
pub struct Passwords;

impl Authenticator for Passwords {
    fn authenticate(&self, request: &ConnectRequest<'_>) -> Result<String, String> {
        let login = request.login().ok_or("missing login")?;
        let expected = request
            .users
            .passcode(login)
            .ok_or_else(|| format!("unknown login '{login}'"))?;
        if request.passcode() == Some(expected.as_str()) {
            Ok(login.to_owned())
        } else {
            Err(format!("wrong passcode for login '{login}'"))
        }
    }
}

/// The RocketMQ STOMP gateway's scheme: `login` is an AccessKey, and
/// `passcode` must be `base64(HMAC-SHA1(key = its secret, data = client-id))`.
///
/// Refusals: `missing client-id header`, `missing login`,
/// `unknown login 'AK'` (an unknown AccessKey), `bad signature for login 'AK'`.
///
/// # Examples
/// ```
/// use stompbox::auth::{rocketmq_passcode, Authenticator, ConnectRequest, RocketMqSignature, Users};
/// use stompbox::frame::Headers;
///
/// let users = Users::default();
/// users.insert("AK1", "secret");
/// let mut headers = Headers::new();
/// headers.push("login", "AK1");
/// headers.push("client-id", "send_01");
/// headers.push("passcode", rocketmq_passcode("secret", "send_01"));
/// let request = ConnectRequest { headers: &headers, users: &users };
/// assert_eq!(request.client_id(), Some("send_01"));
/// assert_eq!(RocketMqSignature.authenticate(&request).unwrap(), "AK1");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RocketMqSignature;

impl Authenticator for RocketMqSignature {
    fn authenticate(&self, request: &ConnectRequest<'_>) -> Result<String, String> {
        let client_id = request.client_id().ok_or("missing client-id header")?;
        let login = request.login().ok_or("missing login")?;
        let secret = request
            .users
            .passcode(login)
            .ok_or_else(|| format!("unknown login '{login}'"))?;
        if request.passcode() == Some(rocketmq_passcode(&secret, client_id).as_str()) {
            Ok(login.to_owned())
        } else {
            Err(format!("bad signature for login '{login}'"))
        }
    }
}

/// The passcode a RocketMQ client computes:
/// `base64(HMAC-SHA1(key = secret, data = client_id))`.
///
/// # Examples
/// ```
/// // The value Python's hmac/base64 give for the same inputs.
/// assert_eq!(stompbox::auth::rocketmq_passcode("key", "The quick brown fox jumps over the lazy dog"),
///            "3nybhbi3iqa8ino29wqQcBydtNk=");
/// ```
pub fn rocketmq_passcode(secret: &str, client_id: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(client_id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The broker's users: login (or AccessKey) to passcode (or secret). Shared
/// by the running broker, so a test can add and remove users at any time.
///
/// # Examples
/// ```
/// let users = stompbox::auth::Users::default();
/// users.insert("alice", "pw");
/// assert_eq!(users.passcode("alice").as_deref(), Some("pw"));
/// assert!(users.remove("alice"));
/// assert_eq!(users.passcode("alice"), None);
/// ```
#[derive(Default)]
pub struct Users {
    table: RwLock<HashMap<String, String>>,
}

impl Users {
    /// Adds a user, or changes its passcode.
    ///
    /// # Examples
    /// See [`Users`].
    pub fn insert(&self, login: impl Into<String>, passcode: impl Into<String>) {
        self.table.write().insert(login.into(), passcode.into());
    }

    /// Removes a user; whether it existed.
    ///
    /// # Examples
    /// See [`Users`].
    pub fn remove(&self, login: &str) -> bool {
        self.table.write().remove(login).is_some()
    }

    /// A user's passcode (or secret).
    ///
    /// # Examples
    /// See [`Users`].
    pub fn passcode(&self, login: &str) -> Option<String> {
        self.table.read().get(login).cloned()
    }
}

impl fmt::Debug for Users {
    /// Lists the logins, never the passcodes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table.read();
        let mut logins: Vec<&String> = table.keys().collect();
        logins.sort();
        f.debug_struct("Users").field("logins", &logins).finish()
    }
}
