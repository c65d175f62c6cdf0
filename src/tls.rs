//! What a TLS port serves with: a certificate and key the test gives, or a
//! throwaway CA and a server certificate for `localhost` and `127.0.0.1`
//! made at start (the CA is then handed to the test, to trust), or, to test
//! a client's TLS handling, a certificate with something wrong with it.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Something wrong with a TLS port, on purpose: clients' TLS handling is
/// where real bugs hide. See
/// [`BrokerBuilder::tls_problem`](crate::BrokerBuilder::tls_problem).
///
/// # Examples
/// ```
/// use stompbox::{Broker, TlsProblem};
///
/// let broker = Broker::builder().tls_port(0).tls_problem(TlsProblem::Expired).start()?;
/// assert!(broker.tls_ca_pem().is_some(), "the CA to trust is still the one that signed it");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The certificate expired (it was valid in the year 2000).
    Expired,
    /// The certificate is for another host name (`wrong-host.invalid`).
    WrongHost,
    /// The certificate is signed by a CA other than the one handed to the
    /// test to trust.
    UnknownCa,
    /// Connections are accepted and then never answered: the handshake
    /// never completes (until the client gives up or the broker stops).
    StalledHandshake,
}

/// A TLS port's certificate and key, ready to serve.
#[derive(Debug)]
pub(crate) struct TlsIdentity {
    pub(crate) server: Arc<ServerConfig>,
    /// The CA that signed the server certificate, in PEM, when it was made
    /// here.
    pub(crate) ca_pem: Option<String>,
}

impl TlsIdentity {
    /// A fresh CA and a server certificate it signs, for `localhost` and
    /// `127.0.0.1` (and `::1`), with `problem` if one is asked for.
    pub(crate) fn generate(problem: Option<TlsProblem>) -> Result<TlsIdentity, String> {
        let fail = |e: rcgen::Error| format!("cannot make a TLS certificate: {e}");
        let (ca_cert, ca_key) = make_ca("stompbox test CA (throwaway)").map_err(fail)?;
        // The CA that signs: the one handed out, or, for UnknownCa, another.
        let other;
        let (signer, signer_key) = if problem == Some(TlsProblem::UnknownCa) {
            other = make_ca("stompbox unknown CA (not the one handed out)").map_err(fail)?;
            (&other.0, &other.1)
        } else {
            (&ca_cert, &ca_key)
        };
        let key = KeyPair::generate().map_err(fail)?;
        let names = match problem {
            Some(TlsProblem::WrongHost) => vec!["wrong-host.invalid".to_owned()],
            _ => ["localhost", "127.0.0.1", "::1"]
                .map(str::to_owned)
                .to_vec(),
        };
        let mut server = CertificateParams::new(names).map_err(fail)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        if problem == Some(TlsProblem::Expired) {
            server.not_before = rcgen::date_time_ymd(2000, 1, 1);
            server.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = server.signed_by(&key, signer, signer_key).map_err(fail)?;
        let chain = vec![cert.der().clone()];
        let private = PrivateKeyDer::Pkcs8(key.serialize_der().into());
        Ok(TlsIdentity {
            server: server_config(chain, private)?,
            ca_pem: Some(ca_cert.pem()),
        })
    }

    /// A certificate chain and its key, in PEM.
    pub(crate) fn from_pem(chain: &str, key: &str) -> Result<TlsIdentity, String> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot read the TLS certificate: {e}"))?;
        if chain.is_empty() {
            return Err("the TLS certificate file holds no certificate".to_owned());
        }
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|e| format!("cannot read the TLS key: {e}"))?;
        Ok(TlsIdentity {
            server: server_config(chain, key)?,
            ca_pem: None,
        })
    }
}

/// A throwaway CA called `name`.
fn make_ca(name: &str) -> Result<(rcgen::Certificate, KeyPair), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let cert = ca.self_signed(&key)?;
    Ok((cert, key))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_comes_with_its_ca_and_reads_back_from_pem() {
        let made = TlsIdentity::generate(None).unwrap();
        let ca = made.ca_pem.unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(TlsIdentity::from_pem("", "").is_err());
        assert!(TlsIdentity::from_pem(&ca, "not a key")
            .unwrap_err()
            .contains("TLS key"));
    }
}
