//! What a TLS port serves with: a certificate and key the test gives, or a
//! throwaway CA and a server certificate for `localhost` and `127.0.0.1`
//! made at start (the CA is then handed to the test, to trust), or, to test
//! a client's TLS handling, a certificate with something wrong with it.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
pub(crate) struct TlsIdentity {
    pub(crate) server: Arc<ServerConfig>,
    /// The CA that signed the server certificate, in PEM, when it was made
    /// here.
    pub(crate) ca_pem: Option<String>,
    /// That CA's certificate and key, to issue client certificates with.
    pub(crate) ca: Option<(rcgen::Certificate, KeyPair)>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("ca_pem", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// A client certificate the broker's CA issued, in PEM.
///
/// # Examples
/// See [`Broker::issue_client_cert`](crate::Broker::issue_client_cert).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

/// The client certificates the broker issued, by their DER, with the name
/// each was issued to (which a connection presenting it is known as).
#[derive(Debug, Default)]
pub(crate) struct IssuedCertificates(
    parking_lot::Mutex<std::collections::HashMap<Vec<u8>, String>>,
);

impl IssuedCertificates {
    pub(crate) fn name_of(&self, der: &[u8]) -> Option<String> {
        self.0.lock().get(der).cloned()
    }
}

impl TlsIdentity {
    /// A client certificate for `name` (its common name), signed by the CA.
    pub(crate) fn issue(
        &self,
        name: &str,
        issued: &IssuedCertificates,
    ) -> Result<ClientCertificate, String> {
        let Some((ca_cert, ca_key)) = &self.ca else {
            return Err(
                "client certificates are issued only by a CA the broker made (no tls_identity)"
                    .to_owned(),
            );
        };
        let fail = |e: rcgen::Error| format!("cannot issue a client certificate: {e}");
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, ca_cert, ca_key).map_err(fail)?;
        issued.0.lock().insert(cert.der().to_vec(), name.to_owned());
        Ok(ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

impl TlsIdentity {
    /// A fresh CA and a server certificate it signs, for `localhost` and
    /// `127.0.0.1` (and `::1`), with `problem` if one is asked for.
    pub(crate) fn generate(
        problem: Option<TlsProblem>,
        client_certificates: bool,
    ) -> Result<TlsIdentity, String> {
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
        let clients = client_certificates.then(|| ca_cert.der().clone());
        Ok(TlsIdentity {
            server: server_config(chain, private, clients)?,
            ca_pem: Some(ca_cert.pem()),
            ca: Some((ca_cert, ca_key)),
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
            server: server_config(chain, key, None)?,
            ca_pem: None,
            ca: None,
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

/// The server's configuration; with `clients`, a client certificate that
/// CA signed is required.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    clients: Option<CertificateDer<'static>>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let builder = match clients {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(ca)
                .map_err(|e| format!("cannot trust the CA for client certificates: {e}"))?;
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("cannot require client certificates: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_comes_with_its_ca_and_reads_back_from_pem() {
        let made = TlsIdentity::generate(None, false).unwrap();
        let ca = made.ca_pem.unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(TlsIdentity::from_pem("", "").is_err());
        assert!(
            TlsIdentity::from_pem(&ca, "not a key")
                .unwrap_err()
                .contains("TLS key")
        );
    }
}
