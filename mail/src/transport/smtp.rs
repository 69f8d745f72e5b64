//! Sending over the tenant's SMTP server with lettre's pooled transport, and finding out which
//! TLS mode a port expects.
//!
//! lettre 0.11.23 applies its own timeout to the TCP connect only: a client that waits for a
//! plain-text greeting on an implicit-TLS port waits for ever. So every connect, check, send and
//! probe here runs under `tokio::time::timeout`. lettre reports TLS and certificate failures as
//! connection errors; their cause is found by walking the `source()` chain down to rustls.

use std::{
    error::Error as StdError,
    io,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use lettre::{
    Address, AsyncTransport, Tokio1Executor,
    address::Envelope,
    transport::smtp::{
        AsyncSmtpTransport, AsyncSmtpTransportBuilder, Error as SmtpError, PoolConfig,
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters},
        extension::ClientId,
        response::Response,
    },
};
use rustls::{CertificateError, InvalidMessage, pki_types::ServerName};
use secrecy::{ExposeSecret, SecretString};

use super::{Accepted, FaultCause, FaultKind, FaultTarget, Outgoing, SendFault};

/// AUTH mechanisms offered to servers, in order of preference.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

/// Maximum extra wait, after a STARTTLS attempt timed out, for finding out whether the port
/// expects implicit TLS instead.
const DIAGNOSIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The encryption of an SMTP connection. There is deliberately no plain-text or opportunistic mode:
/// both could send the password unencrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// TLS from the first byte ("SSL/TLS", usually port 465).
    Implicit,
    /// Plain text, then a required STARTTLS before AUTH (usually port 587).
    StartTls,
}

/// A tenant's SMTP server and account.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: SecretString,
    /// Outer limit of each connect, check and send. After a STARTTLS attempt times out, finding
    /// out whether the port expects implicit TLS takes up to 2 s more.
    pub timeout: Duration,
    /// PEM root certificates to trust besides the webpki roots, for test servers.
    pub extra_root_pem: Option<Vec<u8>>,
    /// The name sent with EHLO. `None` sends the local host name.
    pub hello_name: Option<String>,
}

/// Sends over one SMTP account through a pool of authenticated connections. Clones share the
/// pool.
#[derive(Clone)]
pub struct SmtpTransport {
    shared: Arc<Shared>,
}

struct Shared {
    endpoint: Endpoint,
    credentials: Credentials,
    /// Kept to redact it from faults.
    password: SecretString,
    builder: AsyncSmtpTransportBuilder,
    pool: Mutex<PoolSlot>,
}

/// The current lettre pool. It is built on first use, so that [`SmtpTransport::new`] needs no
/// running Tokio runtime, and rebuilt after an interrupted send.
struct PoolSlot {
    generation: u64,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

/// Connection settings, shared by the transport and the TLS probe.
struct Endpoint {
    host: String,
    port: u16,
    tls: TlsMode,
    timeout: Duration,
    tls_parameters: TlsParameters,
    hello_name: ClientId,
}

impl SmtpTransport {
    /// Prepares the transport. It connects only when a message is sent or [`Self::check`] runs.
    ///
    /// Fails with [`FaultCause::HostNotFound`] for a host that is not a valid host name or IP
    /// address, and with [`FaultCause::InvalidSettings`] for an unusable `extra_root_pem`.
    pub fn new(config: SmtpConfig) -> Result<Self, SendFault> {
        let tls_parameters = tls_parameters(&config.host, config.extra_root_pem.as_deref())
            .map_err(|fault| fault.with_target(smtp_target(&config.host, config.port)))?;
        let hello_name = config
            .hello_name
            .map_or_else(ClientId::default, ClientId::Domain);
        let credentials =
            Credentials::new(config.username, config.password.expose_secret().to_owned());
        let tls = match config.tls {
            TlsMode::Implicit => Tls::Wrapper(tls_parameters.clone()),
            TlsMode::StartTls => Tls::Required(tls_parameters.clone()),
        };
        // "dangerous" only means that the builder starts without TLS; `tls` sets it.
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(config.port)
            .tls(tls)
            .credentials(credentials.clone())
            .authentication(MECHANISMS.to_vec())
            .hello_name(hello_name.clone())
            .timeout(Some(config.timeout))
            .pool_config(PoolConfig::new());

        Ok(Self {
            shared: Arc::new(Shared {
                endpoint: Endpoint {
                    host: config.host,
                    port: config.port,
                    tls: config.tls,
                    timeout: config.timeout,
                    tls_parameters,
                    hello_name,
                },
                credentials,
                password: config.password,
                builder,
                pool: Mutex::new(PoolSlot {
                    generation: 0,
                    transport: None,
                }),
            }),
        })
    }

    /// Sends `message.raw` unchanged to `message.to`, with `message.envelope_from` as MAIL FROM,
    /// over a pooled connection. A message that does not end with CRLF arrives with one, because
    /// SMTP ends the data with a line break.
    pub async fn send(&self, message: Outgoing<'_>) -> Result<Accepted, SendFault> {
        let shared = &*self.shared;
        let endpoint = &shared.endpoint;
        let envelope = envelope(&message).map_err(|fault| fault.with_target(endpoint.target()))?;
        tracing::debug!(host = %endpoint.host, port = endpoint.port, "sending a message over SMTP");

        // lettre 0.11.23 ends DATA by writing CRLF "." CRLF after the bytes it gets, which would
        // add an empty line to a message that already ends with CRLF. So that final CRLF is left
        // out here, and the server receives the message unchanged.
        let data = message.raw.strip_suffix(b"\r\n").unwrap_or(message.raw);

        let (generation, transport) = shared.transport();
        let mut guard = DiscardPoolOnDrop {
            shared,
            generation,
            armed: true,
        };
        let outcome =
            tokio::time::timeout(endpoint.timeout, transport.send_raw(&envelope, data)).await;
        guard.armed = false;

        let result = match outcome {
            Ok(Ok(response)) => Ok(Accepted {
                response: reply_text(&response),
            }),
            Ok(Err(error)) => Err(shared.classify(&error)),
            Err(_elapsed) => {
                shared.discard_pool(generation);
                Err(endpoint.timed_out().await)
            }
        };
        if let Err(fault) = &result {
            tracing::debug!(host = %endpoint.host, port = endpoint.port, cause = fault.cause.code(), "SMTP send failed");
        }
        result
    }

    /// Connects, sets up TLS and logs in on a new connection, then quits. Sends no mail.
    pub async fn check(&self) -> Result<(), SendFault> {
        let shared = &*self.shared;
        let endpoint = &shared.endpoint;
        tracing::debug!(host = %endpoint.host, port = endpoint.port, "checking an SMTP account");

        let session = async {
            let mut connection = endpoint.connect().await?;
            connection.auth(&MECHANISMS, &shared.credentials).await?;
            // The check has passed once AUTH succeeded; a failed QUIT does not change that.
            let _ = connection.quit().await;
            Ok::<(), SmtpError>(())
        };
        let result = match tokio::time::timeout(endpoint.timeout, session).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(shared.classify(&error)),
            Err(_elapsed) => Err(endpoint.timed_out().await),
        };
        if let Err(fault) = &result {
            tracing::debug!(host = %endpoint.host, port = endpoint.port, cause = fault.cause.code(), "SMTP check failed");
        }
        result
    }
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoint = &self.shared.endpoint;
        formatter
            .debug_struct("SmtpTransport")
            .field("host", &endpoint.host)
            .field("port", &endpoint.port)
            .field("tls", &endpoint.tls)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Returns the current pool and its generation, building it first if needed.
    fn transport(&self) -> (u64, AsyncSmtpTransport<Tokio1Executor>) {
        let mut slot = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let transport = slot
            .transport
            .get_or_insert_with(|| self.builder.clone().build())
            .clone();
        (slot.generation, transport)
    }

    /// Drops the pool of `generation`, unless it was already replaced.
    ///
    /// lettre 0.11.23 puts a connection back into its pool even when the send that used it was
    /// cancelled halfway, for example by a timeout. The next message on that connection would
    /// then wait for a reply that never comes, or read the previous command's reply as its own.
    /// A new pool avoids both. The old pool sends QUIT on its idle connections once its last
    /// user is gone, and on a stalled connection that QUIT waits in a background task until the
    /// server closes the connection.
    fn discard_pool(&self, generation: u64) {
        let mut slot = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.generation == generation {
            slot.generation += 1;
            slot.transport = None;
        }
    }

    fn classify(&self, error: &SmtpError) -> SendFault {
        classify(error, self.endpoint.tls)
            .redacted(self.password.expose_secret())
            .with_target(self.endpoint.target())
            .with_timeout_of(self.endpoint.timeout)
    }
}

/// Discards the pool when a send is dropped before it finished, for example because the
/// caller's own timeout cancelled it. `send` disarms it once lettre has returned.
struct DiscardPoolOnDrop<'a> {
    shared: &'a Shared,
    generation: u64,
    armed: bool,
}

impl Drop for DiscardPoolOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.discard_pool(self.generation);
        }
    }
}

impl Endpoint {
    fn target(&self) -> FaultTarget {
        smtp_target(&self.host, self.port)
    }

    /// Opens a connection in the configured TLS mode, up to the greeting and EHLO (after
    /// STARTTLS in that mode). Does not log in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let implicit_tls = match self.tls {
            TlsMode::Implicit => Some(self.tls_parameters.clone()),
            TlsMode::StartTls => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello_name,
            implicit_tls,
            None,
        )
        .await?;
        if self.tls == TlsMode::StartTls {
            connection
                .starttls(self.tls_parameters.clone(), &self.hello_name)
                .await?;
        }
        Ok(connection)
    }

    /// Maps a failed probe step; nothing to redact, because the probe never logs in.
    fn classify_probe(&self, error: &SmtpError) -> SendFault {
        classify(error, self.tls)
            .with_target(self.target())
            .with_timeout_of(self.timeout)
    }

    fn timeout_fault(&self) -> SendFault {
        SendFault::new(FaultKind::Transient, FaultCause::Timeout)
            .with_target(self.target())
            .with_timeout(self.timeout)
    }

    /// Builds the fault for a connect, check or send that ran out of time. In STARTTLS mode, a
    /// port that expects implicit TLS also ends in a timeout (both sides wait), so this tries a
    /// TLS handshake on the port before calling it a plain timeout.
    async fn timed_out(&self) -> SendFault {
        if self.tls == TlsMode::StartTls && self.speaks_implicit_tls().await {
            return SendFault::new(
                FaultKind::Configuration,
                FaultCause::StartTlsOnImplicitTlsPort,
            )
            .with_target(self.target());
        }
        self.timeout_fault()
    }

    /// Returns whether the port completes a TLS handshake right after the TCP connect. A certificate
    /// error counts as yes: the port speaks TLS, even if this client does not trust it.
    async fn speaks_implicit_tls(&self) -> bool {
        let limit = self.timeout.min(DIAGNOSIS_TIMEOUT);
        let attempt = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(limit),
            &self.hello_name,
            Some(self.tls_parameters.clone()),
            None,
        );
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(mut connection)) => {
                let _ = tokio::time::timeout(limit, connection.quit()).await;
                true
            }
            Ok(Err(error)) => {
                error.status().is_some()
                    || matches!(
                        rustls_error(&error),
                        Some(rustls::Error::InvalidCertificate(_))
                    )
            }
            Err(_elapsed) => false,
        }
    }
}

/// Finds out which TLS mode `host:port` expects: connects in plain text and waits up to
/// `timeout` for the greeting. A server that offers STARTTLS after EHLO is upgraded and its
/// certificate verified ([`TlsMode::StartTls`]). A greeting without STARTTLS fails with
/// [`FaultCause::NoStartTls`], because credentials would travel in plain text. Without a
/// greeting, it connects again with TLS from the first byte ([`TlsMode::Implicit`]).
///
/// Certificate problems fail with their own cause. Each step (connect and greeting, STARTTLS,
/// the TLS connect) has `timeout` of its own. The probe never logs in and sends no mail.
pub async fn detect_tls_mode(
    host: &str,
    port: u16,
    timeout: Duration,
    extra_root_pem: Option<&[u8]>,
) -> Result<TlsMode, SendFault> {
    let tls_parameters = tls_parameters(host, extra_root_pem)
        .map_err(|fault| fault.with_target(smtp_target(host, port)))?;
    let mut endpoint = Endpoint {
        host: host.to_owned(),
        port,
        tls: TlsMode::StartTls,
        timeout,
        tls_parameters,
        hello_name: ClientId::default(),
    };
    tracing::debug!(host, port, "probing the TLS mode of an SMTP port");

    let plain = AsyncSmtpConnection::connect_tokio1(
        (host, port),
        Some(timeout),
        &endpoint.hello_name,
        None,
        None,
    );
    match tokio::time::timeout(timeout, plain).await {
        Ok(Ok(connection)) => upgrade_probe(&endpoint, connection).await,
        Ok(Err(error)) => Err(endpoint.classify_probe(&error)),
        Err(_no_greeting) => {
            endpoint.tls = TlsMode::Implicit;
            let implicit = endpoint.connect();
            match tokio::time::timeout(timeout, implicit).await {
                Ok(Ok(mut connection)) => {
                    let _ = tokio::time::timeout(timeout, connection.quit()).await;
                    Ok(TlsMode::Implicit)
                }
                // A server that speaks plain text but did not greet within `timeout` replies to
                // the TLS handshake with its late greeting: that is a timeout, not a wrong mode.
                Ok(Err(error)) => match endpoint.classify_probe(&error) {
                    fault if fault.cause == FaultCause::ImplicitTlsOnStartTlsPort => {
                        Err(endpoint.timeout_fault())
                    }
                    fault => Err(fault),
                },
                Err(_elapsed) => Err(endpoint.timeout_fault()),
            }
        }
    }
}

/// Runs the STARTTLS half of [`detect_tls_mode`] on a connection that got a plain-text greeting.
async fn upgrade_probe(
    endpoint: &Endpoint,
    mut connection: AsyncSmtpConnection,
) -> Result<TlsMode, SendFault> {
    if !connection.can_starttls() {
        let _ = tokio::time::timeout(endpoint.timeout, connection.quit()).await;
        return Err(
            SendFault::new(FaultKind::Configuration, FaultCause::NoStartTls)
                .with_target(endpoint.target()),
        );
    }
    let upgrade = connection.starttls(endpoint.tls_parameters.clone(), &endpoint.hello_name);
    match tokio::time::timeout(endpoint.timeout, upgrade).await {
        Ok(Ok(())) => {
            let _ = tokio::time::timeout(endpoint.timeout, connection.quit()).await;
            Ok(TlsMode::StartTls)
        }
        Ok(Err(error)) => Err(endpoint.classify_probe(&error)),
        Err(_elapsed) => Err(endpoint.timeout_fault()),
    }
}

fn smtp_target(host: &str, port: u16) -> FaultTarget {
    FaultTarget::Smtp {
        host: host.to_owned(),
        port,
    }
}

/// TLS settings that verify the certificate for `host` against the webpki roots and
/// `extra_root_pem`.
fn tls_parameters(host: &str, extra_root_pem: Option<&[u8]>) -> Result<TlsParameters, SendFault> {
    if ServerName::try_from(host).is_err() {
        return Err(
            SendFault::new(FaultKind::Configuration, FaultCause::HostNotFound)
                .with_detail("the host is not a valid host name or IP address"),
        );
    }
    let invalid = |error: SmtpError| {
        SendFault::new(FaultKind::Configuration, FaultCause::InvalidSettings)
            .with_detail(format!("invalid extra root certificate: {error}"))
    };
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra_root_pem {
        builder = builder.add_root_certificate(Certificate::from_pem(pem).map_err(invalid)?);
    }
    builder.build_rustls().map_err(invalid)
}

fn envelope(message: &Outgoing<'_>) -> Result<Envelope, SendFault> {
    let from =
        match message.envelope_from {
            "" => None,
            address => Some(address.parse::<Address>().map_err(|_| {
                SendFault::new(FaultKind::Configuration, FaultCause::InvalidSender)
            })?),
        };
    let invalid_recipient = || SendFault::new(FaultKind::Rejected, FaultCause::InvalidRecipient);
    let to = message
        .to
        .parse::<Address>()
        .map_err(|_| invalid_recipient())?;
    Envelope::new(from, vec![to]).map_err(|_| invalid_recipient())
}

/// "250 2.0.0 Ok: queued as …": the reply code and its lines joined with spaces.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", u16::from(response.code()), lines.join(" "))
        .trim()
        .to_owned()
}

/// Maps a lettre error to a fault. `tls` is the mode of the attempt that failed.
fn classify(error: &SmtpError, tls: TlsMode) -> SendFault {
    if let Some(code) = error.status() {
        let code = u16::from(code);
        let text = error.source().map(ToString::to_string).unwrap_or_default();
        let (kind, cause) = reply_fault(code, &text);
        return SendFault::new(kind, cause).with_response(&format!("{code} {text}"));
    }

    if let Some(tls_error) = rustls_error(error) {
        let cause = match tls_error {
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            ) => FaultCause::CertificateExpired,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => FaultCause::CertificateWrongHost,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                FaultCause::CertificateUnknownIssuer
            }
            // The first bytes were not a TLS record: the server sent its plain-text greeting.
            rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)
                if tls == TlsMode::Implicit =>
            {
                FaultCause::ImplicitTlsOnStartTlsPort
            }
            _ => FaultCause::TlsHandshake,
        };
        return SendFault::new(FaultKind::Configuration, cause).with_detail(tls_error.to_string());
    }

    let text = error.to_string();
    if error.is_client() {
        // NOTE: lettre 0.11.23 reports these only as text. The texts matched here are its
        // messages; another version may word them differently.
        let (kind, cause) = if text.contains("STARTTLS is not supported") {
            (FaultKind::Configuration, FaultCause::NoStartTls)
        } else if text.contains("No compatible authentication mechanism") {
            (
                FaultKind::Configuration,
                FaultCause::AuthenticationUnavailable,
            )
        } else if text.contains("SMTPUTF8") || text.contains("8BITMIME") {
            (FaultKind::Permanent, FaultCause::UnsupportedByServer)
        } else {
            (FaultKind::Permanent, FaultCause::Protocol)
        };
        return SendFault::new(kind, cause).with_detail(text);
    }

    if let Some(io_error) = io_error(error) {
        let cause = match io_error.kind() {
            io::ErrorKind::ConnectionRefused => FaultCause::ConnectionRefused,
            io::ErrorKind::TimedOut => FaultCause::Timeout,
            // std reports failed name lookups with an unstable error kind, so only the text
            // identifies them.
            _ if io_error
                .to_string()
                .starts_with("failed to lookup address information") =>
            {
                FaultCause::HostNotFound
            }
            _ => FaultCause::Network,
        };
        return SendFault::new(FaultKind::Transient, cause).with_detail(text);
    }

    if text.contains("could not resolve to any supported address") {
        return SendFault::new(FaultKind::Transient, FaultCause::HostNotFound).with_detail(text);
    }
    // lettre calls a reply that ends before its last line "incomplete response": the server
    // closed the connection.
    if error.is_response() && !text.contains("incomplete response") {
        return SendFault::new(FaultKind::Configuration, FaultCause::Protocol).with_detail(text);
    }
    SendFault::new(FaultKind::Transient, FaultCause::Network).with_detail(text)
}

/// Kind and cause of a negative SMTP reply.
fn reply_fault(code: u16, text: &str) -> (FaultKind, FaultCause) {
    match code {
        530 | 538 => (FaultKind::Configuration, FaultCause::AuthenticationRequired),
        534 | 535 => (FaultKind::Configuration, FaultCause::AuthenticationFailed),
        400..=499 => (FaultKind::Transient, FaultCause::Reply { code }),
        _ if is_about_recipient(code, text) => (FaultKind::Rejected, FaultCause::Reply { code }),
        _ => (FaultKind::Permanent, FaultCause::Reply { code }),
    }
}

/// Whether a 5xx reply rejects the recipient's mailbox rather than the sender or the message.
///
/// NOTE: lettre's `send_raw` does not say which command a reply belongs to, so this judges by the
/// enhanced status code (RFC 3463): 5.1.1, 5.1.2, 5.1.3, 5.1.6 and 5.1.10 (RFC 7505) are about the
/// destination address, 5.2.1 is a disabled mailbox. Without an enhanced code only 551 ("user not
/// local") counts, so a bare 550 for an unknown user is reported as `Permanent`.
fn is_about_recipient(code: u16, text: &str) -> bool {
    match enhanced_status_code(text) {
        Some((5, 1, detail)) => matches!(detail, 1 | 2 | 3 | 6 | 10),
        Some((5, 2, 1)) => true,
        Some(_) => false,
        None => code == 551,
    }
}

/// Parses the enhanced status code (class, subject, detail) that starts a reply text, such as
/// `5.1.1 mailbox unavailable`.
fn enhanced_status_code(text: &str) -> Option<(u16, u16, u16)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.').map(str::parse::<u16>);
    let class = parts.next()?.ok()?;
    let subject = parts.next()?.ok()?;
    let detail = parts.next()?.ok()?;
    parts.next().is_none().then_some((class, subject, detail))
}

/// Iterates over `error` and the errors below it. Unlike `source()`, it steps into the error that an
/// `io::Error` wraps, which is where rustls errors sit.
fn error_chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.downcast_ref::<io::Error>() {
            Some(io_error) => io_error
                .get_ref()
                .map(|inner| inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
        Some(current)
    })
}

fn rustls_error(error: &SmtpError) -> Option<&rustls::Error> {
    error_chain(error).find_map(|error| error.downcast_ref::<rustls::Error>())
}

fn io_error(error: &SmtpError) -> Option<&io::Error> {
    error_chain(error).find_map(|error| error.downcast_ref::<io::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_statuses_are_rejections() {
        assert_eq!(
            reply_fault(550, "5.1.1 mailbox unavailable"),
            (FaultKind::Rejected, FaultCause::Reply { code: 550 })
        );
        assert_eq!(
            reply_fault(550, "5.1.10 recipient has a null MX"),
            (FaultKind::Rejected, FaultCause::Reply { code: 550 })
        );
        assert_eq!(
            reply_fault(551, "user not local"),
            (FaultKind::Rejected, FaultCause::Reply { code: 551 })
        );
    }

    #[test]
    fn other_permanent_statuses_fail_the_mail() {
        assert_eq!(
            reply_fault(550, "5.7.1 message refused as spam"),
            (FaultKind::Permanent, FaultCause::Reply { code: 550 })
        );
        assert_eq!(
            reply_fault(553, "5.1.8 bad sender domain"),
            (FaultKind::Permanent, FaultCause::Reply { code: 553 })
        );
        assert_eq!(
            reply_fault(550, "mailbox unavailable"),
            (FaultKind::Permanent, FaultCause::Reply { code: 550 })
        );
    }

    #[test]
    fn authentication_replies_are_configuration() {
        assert_eq!(
            reply_fault(535, "5.7.8 Authentication credentials invalid"),
            (FaultKind::Configuration, FaultCause::AuthenticationFailed)
        );
        assert_eq!(
            reply_fault(530, "5.7.0 Authentication required"),
            (FaultKind::Configuration, FaultCause::AuthenticationRequired)
        );
        assert_eq!(
            reply_fault(451, "4.7.1 try again later"),
            (FaultKind::Transient, FaultCause::Reply { code: 451 })
        );
    }

    #[test]
    fn enhanced_status_code_needs_three_numbers() {
        assert_eq!(enhanced_status_code("5.1.10 null MX"), Some((5, 1, 10)));
        assert_eq!(enhanced_status_code("5.1 short"), None);
        assert_eq!(enhanced_status_code("mailbox unavailable"), None);
        assert_eq!(enhanced_status_code(""), None);
    }
}
