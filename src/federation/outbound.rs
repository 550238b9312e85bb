//! The HTTPS client for calls to other offices: mutual TLS, the peer's certificate must name the
//! office we meant to reach, and every 202 must carry a valid receipt for the exact bytes sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use uuid::Uuid;

use super::protocol::{LEDGER_HEADS_PATH, MEDIA_TYPE, MessageKind, Receipt, WireKind as _, sha256_hex};
use super::tls::ClientIdentity;
use super::{Directory, jws, schema};
use crate::domain::OfficeId;
use crate::domain::ledger::LedgerHead;
use crate::pki;

/// The answer to `GET /federation/v1/ledger-heads`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadsAnswer {
    /// The office answering.
    pub office: OfficeId,
    /// The office whose ledger the heads are of (the caller).
    pub about: OfficeId,
    pub heads: Vec<LedgerHead>,
}

/// A delivery attempt the receiver answered for good.
#[derive(Debug)]
pub enum Delivery {
    /// Stored by the receiver: its signed receipt, checked.
    Delivered { receipt_jws: String },
    /// Refused by the receiver (a 4xx problem): sending the same bytes again will not help.
    Rejected { status: u16, problem_type: Option<String> },
}

/// A delivery attempt that may succeed later: worth a retry with backoff.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("office {0} is not in the directory")]
    UnknownOffice(OfficeId),
    #[error("transport: {0}")]
    Transport(String),
    #[error("the server's certificate does not name office {0}")]
    PeerIdentity(OfficeId),
    #[error("the receipt is not valid: {0}")]
    BadReceipt(&'static str),
    #[error("the receiver answered HTTP {0}")]
    Unavailable(u16),
    #[error("the answer is not valid: {0}")]
    BadAnswer(&'static str),
}

/// Calls to other offices: one HTTP client (and connection pool) per destination office, each
/// with a TLS config that accepts only that office's certificate.
pub struct FederationClient {
    identity: ClientIdentity,
    clients: Mutex<HashMap<OfficeId, reqwest::Client>>,
    directory: Arc<Directory>,
    me: OfficeId,
    timeout: Duration,
}

impl FederationClient {
    pub fn new(identity: ClientIdentity, directory: Arc<Directory>, me: OfficeId, timeout: Duration) -> Self {
        Self { identity, clients: Mutex::new(HashMap::new()), directory, me, timeout }
    }

    fn client_for(&self, to: OfficeId) -> Result<reqwest::Client, OutboundError> {
        let mut clients = self.clients.lock().expect("client map lock");
        if let Some(client) = clients.get(&to) {
            return Ok(client.clone());
        }
        let tls = self.identity.config_for(to).map_err(|e| OutboundError::Transport(e.to_string()))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("staffel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboundError::Transport(e.to_string()))?;
        clients.insert(to, client.clone());
        Ok(client)
    }

    /// Posts a signed message to the office `to` and checks the answer.
    pub async fn send(
        &self,
        to: OfficeId,
        kind: MessageKind,
        message_id: Uuid,
        jws: &str,
    ) -> Result<Delivery, OutboundError> {
        let entry = self.directory.office(to).ok_or(OutboundError::UnknownOffice(to))?;
        let path = kind.path().ok_or(OutboundError::Transport("receipts are not posted".into()))?;
        let url = format!("{}{}", entry.federation_url.trim_end_matches('/'), path);
        let response = self
            .client_for(to)?
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
            .body(jws.to_owned())
            .send()
            .await
            .map_err(|e| OutboundError::Transport(error_chain(&e)))?;
        let peer = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(|der| pki::office_id_of(&CertificateDer::from(der)));
        // The TLS verifier already required this; a second look costs nothing.
        if peer != Some(to) {
            return Err(OutboundError::PeerIdentity(to));
        }
        let status = response.status();
        let body = response.text().await.map_err(|e| OutboundError::Transport(error_chain(&e)))?;
        if status == reqwest::StatusCode::ACCEPTED {
            self.check_receipt(&body, to, message_id, jws)?;
            return Ok(Delivery::Delivered { receipt_jws: body });
        }
        let retryable = [408, 425, 429].contains(&status.as_u16());
        if status.is_client_error() && !retryable {
            let problem_type = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
            return Ok(Delivery::Rejected { status: status.as_u16(), problem_type });
        }
        Err(OutboundError::Unavailable(status.as_u16()))
    }

    /// Asks the office `to` which heads of this office's ledger it holds (received, signed, in
    /// our messages): `GET /federation/v1/ledger-heads`, answered as
    /// `{"office": to, "about": us, "heads": [{"seq", "hash"}]}`.
    pub async fn ledger_heads(&self, to: OfficeId) -> Result<Vec<LedgerHead>, OutboundError> {
        let entry = self.directory.office(to).ok_or(OutboundError::UnknownOffice(to))?;
        let url = format!("{}{}", entry.federation_url.trim_end_matches('/'), LEDGER_HEADS_PATH);
        let response =
            self.client_for(to)?.get(url).send().await.map_err(|e| OutboundError::Transport(error_chain(&e)))?;
        let peer = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(|der| pki::office_id_of(&CertificateDer::from(der)));
        if peer != Some(to) {
            return Err(OutboundError::PeerIdentity(to));
        }
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(OutboundError::Unavailable(status.as_u16()));
        }
        let body = response.bytes().await.map_err(|e| OutboundError::Transport(error_chain(&e)))?;
        let value = crate::ijson::parse(&body).map_err(|_| OutboundError::BadAnswer("not I-JSON"))?;
        let answer: HeadsAnswer = serde_json::from_value(value).map_err(|_| OutboundError::BadAnswer("shape"))?;
        if answer.office != to || answer.about != self.me {
            return Err(OutboundError::BadAnswer("names other offices"));
        }
        Ok(answer.heads)
    }

    fn check_receipt(
        &self,
        body: &str,
        from: OfficeId,
        message_id: Uuid,
        sent: &str,
    ) -> Result<Receipt, OutboundError> {
        let verified = jws::verify(body, &self.directory, MessageKind::Receipt.type_name()).map_err(|e| {
            OutboundError::BadReceipt(match e {
                jws::JwsError::Malformed => {
                    "not a compact JWS with exactly alg ES256, a kid and typ staffel.receipt.v1"
                }
                jws::JwsError::NotIJson(_) => "its JWS header is not I-JSON",
                jws::JwsError::UnknownKey => "its kid is not in the directory",
                jws::JwsError::BadSignature => "its signature does not verify",
            })
        })?;
        if verified.signer != from {
            return Err(OutboundError::BadReceipt("signed by another office"));
        }
        let value = crate::ijson::parse(&verified.payload)
            .map_err(|_| OutboundError::BadReceipt("its payload is not I-JSON"))?;
        schema::validate(MessageKind::Receipt, &value).map_err(|_| OutboundError::BadReceipt("schema"))?;
        let receipt: Receipt = serde_json::from_value(value).map_err(|_| OutboundError::BadReceipt("schema"))?;
        if receipt.receipt_for != message_id || receipt.sender != from || receipt.receiver != self.me {
            return Err(OutboundError::BadReceipt("names another message or office"));
        }
        if receipt.sha256 != sha256_hex(sent.as_bytes()) {
            return Err(OutboundError::BadReceipt("digest differs from the bytes sent"));
        }
        Ok(receipt)
    }
}

/// An error with its sources, for logs (transport errors carry no personal data).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
