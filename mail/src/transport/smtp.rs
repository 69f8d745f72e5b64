//! Sending over the tenant's SMTP server on connections that this module opens, keeps and
//! reuses, and finding out which TLS mode a port expects.
//!
//! lettre's pooled transport is not used: in 0.11.23 it does not set TCP_NODELAY, and it writes
//! the end of DATA (CRLF "." CRLF) separately from the message. Nagle's algorithm then keeps
//! those 5 bytes back until the server acknowledges the message, which a server delays by up to 40 ms:
//! one message per 40 ms per connection (docs/BENCHMARKS.md, "Sending"). So this module opens
//! the TCP connection itself, sets TCP_NODELAY, adds implicit TLS with tokio-rustls, and hands
//! the stream to lettre's `AsyncSmtpConnection` for the SMTP dialogue and STARTTLS.
//!
//! lettre applies its own timeout to the TCP connect only: a client that waits for a plain-text
//! greeting on an implicit-TLS port waits for ever. So every connect, check, send and probe here
//! runs under `tokio::time::timeout`. TLS and certificate failures are classified by walking the
//! error's `source()` chain down to rustls.

use std::{
    error::Error as StdError,
    fmt, io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use lettre::{
    Address,
    address::Envelope,
    transport::smtp::{
        Error as SmtpError,
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters},
        extension::ClientId,
        response::Response,
    },
};
use rustls::{
    CertificateError, ClientConfig, InvalidMessage, RootCertStore,
    pki_types::{CertificateDer, ServerName, pem::PemObject},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::{Accepted, FaultCause, FaultKind, FaultTarget, Outgoing, SendFault};

/// AUTH mechanisms offered to servers, in order of preference.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

/// Maximum extra wait, after a STARTTLS attempt timed out, for finding out whether the port
/// expects implicit TLS instead.
const DIAGNOSIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Logged-in connections kept open for the next message.
const MAX_IDLE_CONNECTIONS: usize = 16;

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

/// Sends over one SMTP account, reusing logged-in connections. Clones share the connections.
#[derive(Clone)]
pub struct SmtpTransport {
    shared: Arc<Shared>,
}

struct Shared {
    endpoint: Endpoint,
    /// `None` only for the plain-text benchmark transport, which does not log in.
    credentials: Option<Credentials>,
    /// Kept to redact it from faults.
    password: SecretString,
    /// Logged-in connections between messages, the most recently used last.
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

/// Connection settings, shared by the transport and the TLS probe.
struct Endpoint {
    host: String,
    port: u16,
    tls: TlsMode,
    timeout: Duration,
    /// For STARTTLS, which lettre performs.
    tls_parameters: TlsParameters,
    /// For implicit TLS, which this module performs. Trusts the same roots as `tls_parameters`.
    tls_config: Arc<ClientConfig>,
    hello_name: ClientId,
    /// Neither TLS nor AUTH: only [`SmtpTransport::plaintext_for_benchmark`] sets this.
    plaintext: bool,
}

impl SmtpTransport {
    /// Prepares the transport. It connects only when a message is sent or [`Self::check`] runs.
    ///
    /// Fails with [`FaultCause::HostNotFound`] for a host that is not a valid host name or IP
    /// address, and with [`FaultCause::InvalidSettings`] for an unusable `extra_root_pem`.
    pub fn new(config: SmtpConfig) -> Result<Self, SendFault> {
        let endpoint = Endpoint::new(
            config.host,
            config.port,
            config.tls,
            config.timeout,
            config.extra_root_pem.as_deref(),
        )?;
        let endpoint = match config.hello_name {
            Some(name) => Endpoint {
                hello_name: ClientId::Domain(name),
                ..endpoint
            },
            None => endpoint,
        };
        let credentials =
            Credentials::new(config.username, config.password.expose_secret().to_owned());
        Ok(Self::with(endpoint, Some(credentials), config.password))
    }

    /// Builds a transport without TLS and without AUTH, for measuring throughput against a local
    /// sink that offers neither (Postfix's smtp-sink). Never use it for real mail: it would send
    /// messages in plain text.
    #[cfg(feature = "plaintext-benchmark")]
    pub fn plaintext_for_benchmark(
        host: &str,
        port: u16,
        timeout: Duration,
        hello_name: &str,
    ) -> Result<Self, SendFault> {
        let endpoint = Endpoint::new(host.to_owned(), port, TlsMode::StartTls, timeout, None)?;
        let endpoint = Endpoint {
            hello_name: ClientId::Domain(hello_name.to_owned()),
            plaintext: true,
            ..endpoint
        };
        Ok(Self::with(
            endpoint,
            None,
            SecretString::from(String::new()),
        ))
    }

    fn with(endpoint: Endpoint, credentials: Option<Credentials>, password: SecretString) -> Self {
        Self {
            shared: Arc::new(Shared {
                endpoint,
                credentials,
                password,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Sends `message.raw` unchanged to `message.to`, with `message.envelope_from` as MAIL FROM,
    /// over an idle connection or a new one. A message that does not end with CRLF arrives with
    /// one, because SMTP ends the data with a line break.
    ///
    /// A connection goes back to the idle list only after a send that succeeded. After any
    /// failure, lettre has already sent QUIT on it, and after a timeout it may be in the middle
    /// of a command, so it is dropped.
    pub async fn send(&self, message: Outgoing<'_>) -> Result<Accepted, SendFault> {
        let shared = &*self.shared;
        let endpoint = &shared.endpoint;
        let envelope = envelope(&message).map_err(|fault| fault.with_target(endpoint.target()))?;
        tracing::debug!(host = %endpoint.host, port = endpoint.port, "sending a message over SMTP");

        // lettre 0.11.23 ends DATA by writing CRLF "." CRLF after the bytes it gets, which would
        // add an empty line to a message that already ends with CRLF. So that final CRLF is left
        // out here, and the server receives the message unchanged.
        let data = message.raw.strip_suffix(b"\r\n").unwrap_or(message.raw);

        let session = async {
            let mut connection = shared.connection().await?;
            let response = connection.send(&envelope, data).await?;
            Ok::<_, Failure>((connection, response))
        };
        let result = match tokio::time::timeout(endpoint.timeout, session).await {
            Ok(Ok((connection, response))) => {
                shared.put_back(connection);
                Ok(Accepted {
                    response: reply_text(&response),
                })
            }
            Ok(Err(failure)) => Err(shared.classify(&failure)),
            Err(_elapsed) => Err(endpoint.timed_out().await),
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
            let mut connection = shared.open().await?;
            // The check has passed once AUTH succeeded; a failed QUIT does not change that.
            let _ = connection.quit().await;
            Ok::<(), Failure>(())
        };
        let result = match tokio::time::timeout(endpoint.timeout, session).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(shared.classify(&failure)),
            Err(_elapsed) => Err(endpoint.timed_out().await),
        };
        if let Err(fault) = &result {
            tracing::debug!(host = %endpoint.host, port = endpoint.port, cause = fault.cause.code(), "SMTP check failed");
        }
        result
    }
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    /// Takes the most recently used idle connection that still replies to NOOP, or opens a new one.
    ///
    /// The NOOP costs a round trip per message, as in lettre's own pool. Some servers close a
    /// connection after each message or after a number of them. Without the NOOP, the next
    /// message would fail at MAIL FROM and wait for its retry, because a failed send cannot
    /// tell whether the server got the message.
    async fn connection(&self) -> Result<AsyncSmtpConnection, Failure> {
        while let Some(mut connection) = self.take_idle() {
            if connection.test_connected().await {
                return Ok(connection);
            }
        }
        self.open().await
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn put_back(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
    }

    /// Opens a connection and logs in.
    async fn open(&self) -> Result<AsyncSmtpConnection, Failure> {
        let mut connection = self.endpoint.connect().await?;
        if let Some(credentials) = &self.credentials {
            connection.auth(&MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }

    fn classify(&self, failure: &Failure) -> SendFault {
        failure
            .classify(self.endpoint.tls)
            .redacted(self.password.expose_secret())
            .with_target(self.endpoint.target())
            .with_timeout_of(self.endpoint.timeout)
    }
}

impl Endpoint {
    fn new(
        host: String,
        port: u16,
        tls: TlsMode,
        timeout: Duration,
        extra_root_pem: Option<&[u8]>,
    ) -> Result<Self, SendFault> {
        let target = || smtp_target(&host, port);
        let tls_parameters =
            tls_parameters(&host, extra_root_pem).map_err(|fault| fault.with_target(target()))?;
        let tls_config = tls_config(extra_root_pem).map_err(|fault| fault.with_target(target()))?;
        Ok(Self {
            host,
            port,
            tls,
            timeout,
            tls_parameters,
            tls_config,
            hello_name: ClientId::default(),
            plaintext: false,
        })
    }

    fn target(&self) -> FaultTarget {
        smtp_target(&self.host, self.port)
    }

    /// Opens a connection in the configured TLS mode, up to the greeting and EHLO (after
    /// STARTTLS in that mode). Does not log in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        self.connect_in(self.tls).await
    }

    async fn connect_in(&self, tls: TlsMode) -> Result<AsyncSmtpConnection, Failure> {
        if tls == TlsMode::Implicit {
            let stream = self.tcp().await?;
            let server_name = ServerName::try_from(self.host.clone())
                .map_err(|error| Failure::Io(io::Error::new(io::ErrorKind::InvalidInput, error)))?;
            let stream = TlsConnector::from(Arc::clone(&self.tls_config))
                .connect(server_name, stream)
                .await?;
            let stream = Box::new(ImplicitTlsStream(stream));
            return Ok(
                AsyncSmtpConnection::connect_with_transport(stream, &self.hello_name).await?,
            );
        }
        let mut connection = self.connect_plain().await?;
        if !self.plaintext {
            connection
                .starttls(self.tls_parameters.clone(), &self.hello_name)
                .await?;
        }
        Ok(connection)
    }

    /// Opens a plain-text connection, up to the greeting and EHLO.
    async fn connect_plain(&self) -> Result<AsyncSmtpConnection, Failure> {
        let stream = Box::new(self.tcp().await?);
        Ok(AsyncSmtpConnection::connect_with_transport(stream, &self.hello_name).await?)
    }

    /// Connects to the first of the host's addresses that accepts, with TCP_NODELAY set.
    async fn tcp(&self) -> io::Result<TcpStream> {
        let mut last_error = None;
        for address in tokio::net::lookup_host((self.host.as_str(), self.port)).await? {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "could not resolve to any supported address",
            )
        }))
    }

    /// Maps a failed probe step; nothing to redact, because the probe never logs in.
    fn classify_probe(&self, failure: &Failure) -> SendFault {
        failure
            .classify(self.tls)
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
        if self.tls == TlsMode::StartTls && !self.plaintext && self.speaks_implicit_tls().await {
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
        match tokio::time::timeout(limit, self.connect_in(TlsMode::Implicit)).await {
            Ok(Ok(mut connection)) => {
                let _ = tokio::time::timeout(limit, connection.quit()).await;
                true
            }
            Ok(Err(failure)) => {
                failure.smtp_reply()
                    || matches!(
                        failure.rustls_error(),
                        Some(rustls::Error::InvalidCertificate(_))
                    )
            }
            Err(_elapsed) => false,
        }
    }
}

/// A TLS stream opened by this module, in the form lettre takes streams. lettre treats it as a
/// plain stream; it is encrypted underneath.
#[derive(Debug)]
struct ImplicitTlsStream(TlsStream<TcpStream>);

impl AsyncRead for ImplicitTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for ImplicitTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}

impl AsyncTokioStream for ImplicitTlsStream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// Why a connect, login or send failed: before lettre had the stream (TCP, implicit TLS), or
/// in lettre's SMTP dialogue.
#[derive(Debug)]
enum Failure {
    Io(io::Error),
    Smtp(SmtpError),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<SmtpError> for Failure {
    fn from(error: SmtpError) -> Self {
        Self::Smtp(error)
    }
}

impl Failure {
    fn error(&self) -> &(dyn StdError + 'static) {
        match self {
            Self::Io(error) => error,
            Self::Smtp(error) => error,
        }
    }

    /// Returns whether the server got as far as an SMTP reply.
    fn smtp_reply(&self) -> bool {
        matches!(self, Self::Smtp(error) if error.status().is_some())
    }

    fn rustls_error(&self) -> Option<&rustls::Error> {
        error_chain(self.error()).find_map(|error| error.downcast_ref::<rustls::Error>())
    }

    /// Maps the failure to a fault. `tls` is the mode of the attempt that failed.
    fn classify(&self, tls: TlsMode) -> SendFault {
        if let Self::Smtp(error) = self
            && let Some(fault) = classify_reply(error)
        {
            return fault;
        }
        if let Some(tls_error) = self.rustls_error() {
            return tls_fault(tls_error, tls);
        }
        if let Self::Smtp(error) = self
            && error.is_client()
        {
            return client_fault(error);
        }
        let text = self.error().to_string();
        if let Some(io_error) =
            error_chain(self.error()).find_map(|error| error.downcast_ref::<io::Error>())
        {
            return SendFault::new(FaultKind::Transient, io_cause(io_error)).with_detail(text);
        }
        // lettre calls a reply that ends before its last line "incomplete response": the server
        // closed the connection.
        if let Self::Smtp(error) = self
            && error.is_response()
            && !text.contains("incomplete response")
        {
            return SendFault::new(FaultKind::Configuration, FaultCause::Protocol)
                .with_detail(text);
        }
        SendFault::new(FaultKind::Transient, FaultCause::Network).with_detail(text)
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
    let mut endpoint = Endpoint::new(
        host.to_owned(),
        port,
        TlsMode::StartTls,
        timeout,
        extra_root_pem,
    )?;
    tracing::debug!(host, port, "probing the TLS mode of an SMTP port");

    match tokio::time::timeout(timeout, endpoint.connect_plain()).await {
        Ok(Ok(connection)) => upgrade_probe(&endpoint, connection).await,
        Ok(Err(failure)) => Err(endpoint.classify_probe(&failure)),
        Err(_no_greeting) => {
            endpoint.tls = TlsMode::Implicit;
            match tokio::time::timeout(timeout, endpoint.connect()).await {
                Ok(Ok(mut connection)) => {
                    let _ = tokio::time::timeout(timeout, connection.quit()).await;
                    Ok(TlsMode::Implicit)
                }
                // A server that speaks plain text but did not greet within `timeout` replies to
                // the TLS handshake with its late greeting: that is a timeout, not a wrong mode.
                Ok(Err(failure)) => match endpoint.classify_probe(&failure) {
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
        Ok(Err(error)) => Err(endpoint.classify_probe(&Failure::Smtp(error))),
        Err(_elapsed) => Err(endpoint.timeout_fault()),
    }
}

fn smtp_target(host: &str, port: u16) -> FaultTarget {
    FaultTarget::Smtp {
        host: host.to_owned(),
        port,
    }
}

/// lettre's TLS settings for STARTTLS: verify the certificate for `host` against the webpki
/// roots and `extra_root_pem`.
fn tls_parameters(host: &str, extra_root_pem: Option<&[u8]>) -> Result<TlsParameters, SendFault> {
    if ServerName::try_from(host).is_err() {
        return Err(
            SendFault::new(FaultKind::Configuration, FaultCause::HostNotFound)
                .with_detail("the host is not a valid host name or IP address"),
        );
    }
    let invalid = |error: SmtpError| invalid_root(&error);
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra_root_pem {
        builder = builder.add_root_certificate(Certificate::from_pem(pem).map_err(invalid)?);
    }
    builder.build_rustls().map_err(invalid)
}

/// Builds the rustls settings for implicit TLS, with the same roots as [`tls_parameters`]: the
/// webpki roots and every certificate in `extra_root_pem`.
fn tls_config(extra_root_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, SendFault> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_root_pem {
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|error| invalid_root(&error))?;
            roots
                .add(certificate)
                .map_err(|error| invalid_root(&error))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid_root(&error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn invalid_root(error: &dyn fmt::Display) -> SendFault {
    SendFault::new(FaultKind::Configuration, FaultCause::InvalidSettings)
        .with_detail(format!("invalid extra root certificate: {error}"))
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
    let to = crate::address::for_transport(message.to)
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

/// Maps a negative SMTP reply to a fault; `None` when the server sent no reply.
fn classify_reply(error: &SmtpError) -> Option<SendFault> {
    let code = u16::from(error.status()?);
    let text = error.source().map(ToString::to_string).unwrap_or_default();
    let (kind, cause) = reply_fault(code, &text);
    Some(SendFault::new(kind, cause).with_response(&format!("{code} {text}")))
}

/// Maps a failed TLS handshake to a fault. `tls` is the mode of the attempt that failed.
fn tls_fault(tls_error: &rustls::Error, tls: TlsMode) -> SendFault {
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
    SendFault::new(FaultKind::Configuration, cause).with_detail(tls_error.to_string())
}

/// Maps an error that lettre raised itself, without a server reply, to a fault.
fn client_fault(error: &SmtpError) -> SendFault {
    let text = error.to_string();
    // NOTE: lettre 0.11.23 reports these only as text. The texts matched here are its messages;
    // another version may word them differently.
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
    SendFault::new(kind, cause).with_detail(text)
}

fn io_cause(error: &io::Error) -> FaultCause {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => FaultCause::ConnectionRefused,
        io::ErrorKind::TimedOut => FaultCause::Timeout,
        io::ErrorKind::NotFound => FaultCause::HostNotFound,
        // std reports failed name lookups with an unstable error kind, so only the text
        // identifies them.
        _ if error
            .to_string()
            .starts_with("failed to lookup address information") =>
        {
            FaultCause::HostNotFound
        }
        _ => FaultCause::Network,
    }
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
