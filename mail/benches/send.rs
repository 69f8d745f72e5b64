//! Sending benchmark: DKIM-signed mails per second from one process to a local SMTP server, and
//! the process's peak resident memory, for RSA-2048 and Ed25519 keys.
//!
//! Each message goes through the per-message work of the product's worker
//! (`domain::outbox::send::build` and `SmtpTransport::send`). `mail::compose` builds it with a
//! Japanese subject, a body of about 4 KB and the List-Unsubscribe, List-Unsubscribe-Post and
//! Feedback-ID headers. `dkim::Signer::sign` signs it, and `SmtpTransport::send` sends it.
//! `--sessions` Tokio tasks (16 by default) share one transport, and so its idle connections,
//! and send one message at a time each, on a multi-threaded runtime with one worker thread per
//! core.
//!
//! NOTE: the product's `SmtpTransport` always uses TLS and AUTH, which Postfix's smtp-sink does not
//! offer. This benchmark therefore uses `SmtpTransport::plaintext_for_benchmark` (the
//! `plaintext-benchmark` feature), which skips STARTTLS and AUTH and is otherwise the same
//! transport, so TLS handshakes and encryption are not included in the figures.
//!
//! Besides that product path, each key type reports diagnostics: the same sends of one presigned
//! message (SMTP alone), compose and sign timed separately on one thread, and compose plus sign
//! on one thread per core.
//!
//! Usage (`scripts/bench-send` starts smtp-sink and runs this):
//!
//! ```text
//! cargo bench -p mail --bench send -- --sink 127.0.0.1:PORT [--messages 20000] [--sessions 16] [--key rsa2048|ed25519]
//! ```
//!
//! The sink address may also come from `BENCH_SMTP_ADDR`. Without `--key`, both key types run in
//! turn in one process. Every message is sent twice per key type (compose, sign and send, then
//! the presigned message). The process exits with status 1 when any message did not get a 250 reply.

use std::{
    env,
    error::Error,
    fmt::Write as _,
    fs,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use mail::{
    Envelope, Rendered,
    dkim::{self, KeyAlgorithm, Signer},
    transport::{Outgoing, smtp::SmtpTransport},
};
use mail_builder::encoders::base64::base64_encode;
use uuid::Uuid;

type BoxError = Box<dyn Error + Send + Sync>;

const SENDER_DOMAIN: &str = "bench.example.jp";
const SENDER_ADDRESS: &str = "news@bench.example.jp";
const SELECTOR: &str = "bench";
const PUBLIC_URL: &str = "https://tayori.example.jp";
/// Outer limit of one send, as `SmtpTransport` wraps every send in `tokio::time::timeout`.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of the HMAC tag in an unsubscribe token, as in `domain::sending::unsubscribe`.
const UNSUBSCRIBE_TAG_BYTES: usize = 16;

struct Options {
    host: String,
    port: u16,
    messages: usize,
    sessions: usize,
    keys: Vec<KeyAlgorithm>,
}

/// The figures of one key type.
struct Figures {
    algorithm: KeyAlgorithm,
    messages: usize,
    /// Over `SmtpTransport`.
    sends: Sends,
    /// Compose and sign on one thread, summed per step over all messages.
    compose_one_core: Duration,
    sign_one_core: Duration,
    /// Wall time of compose and sign of all messages on one thread per core, and that count.
    compose_sign_all_cores: Duration,
    threads: usize,
    /// Bytes after the header block of the first signed message.
    body_bytes: usize,
    /// VmRSS when the key type started, after the peak was reset, in KiB.
    start_rss_kib: u64,
    /// VmHWM at the end of the key type, in KiB.
    peak_rss_kib: u64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("send benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let options = parse_options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "send benchmark: {} messages per key type, {} concurrent SMTP sessions to {}:{}, {} runtime worker threads",
        options.messages,
        options.sessions,
        options.host,
        options.port,
        runtime.metrics().num_workers()
    );
    println!(
        "NOTE: plain-text SMTP without AUTH (smtp-sink offers neither TLS nor AUTH); the product's \
         SmtpTransport requires both, and TLS costs are not included."
    );

    for algorithm in options.keys.clone() {
        let figures = bench_key(&runtime, &options, algorithm)?;
        print_figures(&figures);
    }
    Ok(())
}

fn parse_options() -> Result<Options, BoxError> {
    let mut address = env::var("BENCH_SMTP_ADDR").ok();
    let mut messages = 20_000;
    let mut sessions = 16;
    let mut keys = vec![KeyAlgorithm::Rsa2048, KeyAlgorithm::Ed25519];

    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("missing value after {name}"))
        };
        match arg.as_str() {
            // cargo bench passes --bench to every benchmark binary.
            "--bench" => {}
            "--sink" => address = Some(value("--sink")?),
            "--messages" => messages = value("--messages")?.parse()?,
            "--sessions" => sessions = value("--sessions")?.parse()?,
            "--key" => {
                keys = match value("--key")?.as_str() {
                    "rsa2048" => vec![KeyAlgorithm::Rsa2048],
                    "ed25519" => vec![KeyAlgorithm::Ed25519],
                    other => {
                        return Err(format!(
                            "invalid --key {other:?}: expected rsa2048 or ed25519"
                        )
                        .into());
                    }
                }
            }
            other if !other.starts_with('-') => address = Some(other.to_owned()),
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }

    let address = address.ok_or(
        "missing sink address: pass --sink HOST:PORT or set BENCH_SMTP_ADDR (scripts/bench-send \
         starts a sink)",
    )?;
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("invalid sink address {address:?}: expected HOST:PORT"))?;
    if messages == 0 || sessions == 0 {
        return Err("--messages and --sessions must be at least 1".into());
    }
    Ok(Options {
        host: host.to_owned(),
        port: port
            .parse()
            .map_err(|_| format!("invalid port in sink address {address:?}"))?,
        messages,
        sessions,
        keys,
    })
}

fn bench_key(
    runtime: &tokio::runtime::Runtime,
    options: &Options,
    algorithm: KeyAlgorithm,
) -> Result<Figures, BoxError> {
    reset_peak_rss()?;
    let start_rss_kib = proc_status_kib("VmRSS")?;

    let key = dkim::generate(algorithm)?;
    let signer = Arc::new(Signer::new(
        SENDER_DOMAIN,
        SELECTOR,
        algorithm,
        &key.private_pkcs8_der,
    )?);
    let factory = Arc::new(MessageFactory::new());

    // One signed message is verified first, so that the timed runs sign verifiable mail.
    let sample = signer.sign(&factory.compose(0)?.raw)?;
    let body_bytes = sample
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(0, |position| sample.len() - position - 4);
    let record = signer.dns_record();
    runtime.block_on(dkim::verify_with_key(
        &sample,
        SENDER_DOMAIN,
        SELECTOR,
        &record.value,
    ))?;

    let worker = Work::ComposeAndSign {
        factory: Arc::clone(&factory),
        signer: Arc::clone(&signer),
    };
    let presigned = Work::Presigned(Arc::new(sample));
    let sends = runtime.block_on(send_twice(options, &worker, &presigned))?;

    let (compose_one_core, sign_one_core) = compose_and_sign_one_core(&factory, &signer, options)?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let compose_sign_all_cores = compose_and_sign_in_parallel(&factory, &signer, options, threads)?;
    let peak_rss_kib = proc_status_kib("VmHWM")?;

    Ok(Figures {
        algorithm,
        messages: options.messages,
        sends,
        compose_one_core,
        sign_one_core,
        compose_sign_all_cores,
        threads,
        body_bytes,
        start_rss_kib,
        peak_rss_kib,
    })
}

/// Per-message work before the bytes go to the transport.
#[derive(Clone)]
enum Work {
    /// Compose and sign a distinct message, as the worker does.
    ComposeAndSign {
        factory: Arc<MessageFactory>,
        signer: Arc<Signer>,
    },
    /// Send the same signed message each time, to time SMTP alone.
    Presigned(Arc<Vec<u8>>),
}

/// Wall times of all messages.
struct Sends {
    /// Compose, sign and send.
    pipeline: Duration,
    /// Send only, of one presigned message.
    send_only: Duration,
    /// Mean size of a signed message on the wire, in bytes.
    mean_signed_bytes: usize,
}

/// Sends all messages twice: as `worker` builds them, then `presigned`. Each round has a
/// transport of its own, so its connects are timed too.
async fn send_twice(options: &Options, worker: &Work, presigned: &Work) -> Result<Sends, BoxError> {
    let (pipeline, mean_signed_bytes) = send_all(options, worker).await?;
    let (send_only, _) = send_all(options, presigned).await?;
    Ok(Sends {
        pipeline,
        send_only,
        mean_signed_bytes,
    })
}

/// Sends `options.messages` messages from `options.sessions` tasks and returns the wall time,
/// connects included, and the mean message size. Fails when any send did not get a 250 reply,
/// after all tasks finished.
async fn send_all(options: &Options, work: &Work) -> Result<(Duration, usize), BoxError> {
    let transport = SmtpTransport::plaintext_for_benchmark(
        &options.host,
        options.port,
        SEND_TIMEOUT,
        SENDER_DOMAIN,
    )?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(options.sessions);
    for _ in 0..options.sessions {
        let transport = transport.clone();
        let next = Arc::clone(&next);
        let work = work.clone();
        let total = options.messages;
        tasks.push(tokio::spawn(async move {
            send_from_task(&transport, &next, total, &work).await
        }));
    }

    let mut tally = Tally::default();
    for task in tasks {
        tally.add(task.await??);
    }
    let elapsed = started.elapsed();

    if tally.accepted != options.messages {
        return Err(format!(
            "{} of {} messages did not get a 250 reply; first failure: {}",
            options.messages - tally.accepted,
            options.messages,
            tally.first_failure.unwrap_or_default()
        )
        .into());
    }
    Ok((elapsed, tally.bytes / tally.accepted))
}

#[derive(Default)]
struct Tally {
    accepted: usize,
    bytes: usize,
    first_failure: Option<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.bytes += other.bytes;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

async fn send_from_task(
    transport: &SmtpTransport,
    next: &AtomicUsize,
    total: usize,
    work: &Work,
) -> Result<Tally, BoxError> {
    let mut tally = Tally::default();
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= total {
            return Ok(tally);
        }
        let to = recipient(index);

        let signed;
        let raw: &[u8] = match work {
            Work::ComposeAndSign { factory, signer } => {
                signed = signer.sign(&factory.compose(index)?.raw)?;
                &signed
            }
            Work::Presigned(message) => message,
        };
        let outgoing = Outgoing {
            envelope_from: SENDER_ADDRESS,
            to: &to,
            raw,
        };
        // The transport applies SEND_TIMEOUT itself and returns a fault for anything but a
        // positive reply.
        let failure = match transport.send(outgoing).await {
            Ok(_accepted) => {
                tally.accepted += 1;
                tally.bytes += raw.len();
                None
            }
            Err(fault) => Some(fault.to_string()),
        };
        if let Some(failure) = failure
            && tally.first_failure.is_none()
        {
            tally.first_failure = Some(format!("message {index}: {failure}"));
        }
    }
}

/// Composes and signs every message on the calling thread and returns the time spent in each
/// step.
fn compose_and_sign_one_core(
    factory: &MessageFactory,
    signer: &Signer,
    options: &Options,
) -> Result<(Duration, Duration), BoxError> {
    let mut compose = Duration::ZERO;
    let mut sign = Duration::ZERO;
    for index in 0..options.messages {
        let started = Instant::now();
        let composed = factory.compose(index)?;
        let composed_at = Instant::now();
        let signed = signer.sign(&composed.raw)?;
        sign += composed_at.elapsed();
        compose += composed_at - started;
        std::hint::black_box(signed);
    }
    Ok((compose, sign))
}

/// Composes and signs every message on `threads` threads and returns the wall time. Compared
/// with the one-thread figures, it shows how much of the machine's cores this process got.
fn compose_and_sign_in_parallel(
    factory: &MessageFactory,
    signer: &Signer,
    options: &Options,
    threads: usize,
) -> Result<Duration, BoxError> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<(), BoxError> {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= options.messages {
                            return Ok(());
                        }
                        let signed = signer.sign(&factory.compose(index)?.raw)?;
                        std::hint::black_box(signed);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| "a compose and sign thread panicked")??;
        }
        Ok::<_, BoxError>(())
    })?;
    Ok(started.elapsed())
}

fn recipient(index: usize) -> String {
    format!("member{index:05}@example.jp")
}

/// Builds distinct messages like a listing alert of the product.
struct MessageFactory {
    unsubscribe_key: hmac::Key,
    date: DateTime<Utc>,
}

impl MessageFactory {
    fn new() -> Self {
        Self {
            unsubscribe_key: hmac::Key::new(hmac::HMAC_SHA256, b"bench-send unsubscribe key"),
            date: Utc::now(),
        }
    }

    /// Builds message `index` with a new delivery id, its Message-ID and unsubscribe link, as
    /// `domain::outbox::send::build` does.
    fn compose(&self, index: usize) -> Result<mail::Composed, BoxError> {
        let delivery_id = Uuid::now_v7();
        let message_id = format!("{}@{SENDER_DOMAIN}", delivery_id.simple());
        let to_address = recipient(index);
        let unsubscribe = format!("{PUBLIC_URL}/u/{}", self.unsubscribe_token(delivery_id)?);
        let envelope = Envelope {
            from_name: "東京ステイ不動産 新着情報",
            from_address: SENDER_ADDRESS,
            to_address: &to_address,
            message_id: &message_id,
            date: self.date,
            extra_headers: vec![
                ("List-Unsubscribe", format!("<{unsubscribe}>")),
                (
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".to_owned(),
                ),
                ("Feedback-ID", "instant:tokyo-stay:tayori".to_owned()),
            ],
        };
        let rendered = listing_alert(index, &unsubscribe);
        Ok(mail::compose(&envelope, &rendered)?)
    }

    /// Builds a token of the same form and length as the product's: the delivery id and 16 bytes
    /// of its HMAC-SHA256 tag, in unpadded URL-safe base64.
    fn unsubscribe_token(&self, delivery_id: Uuid) -> Result<String, BoxError> {
        let tag = hmac::sign(&self.unsubscribe_key, delivery_id.as_bytes());
        let mut bytes = delivery_id.as_bytes().to_vec();
        bytes.extend_from_slice(&tag.as_ref()[..UNSUBSCRIBE_TAG_BYTES]);
        let encoded = String::from_utf8(base64_encode(&bytes)?)?;
        Ok(encoded
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_"))
    }
}

/// Four listings in Japanese, as text and HTML. The encoded body is about 4 KB.
fn listing_alert(index: usize, unsubscribe: &str) -> Rendered {
    const LISTINGS: [(&str, &str, u32, &str); 4] = [
        (
            "渋谷区",
            "代々木公園まで徒歩5分、南向きの明るい2LDK",
            18_500,
            "最寄り駅: 代々木八幡 / 最低宿泊数: 2泊",
        ),
        (
            "新宿区",
            "新宿御苑の緑が見える静かな1LDK、家具家電付き",
            14_200,
            "最寄り駅: 新宿御苑前 / 最低宿泊数: 1泊",
        ),
        (
            "台東区",
            "浅草寺と隅田川に近い和室付きの一軒家",
            22_800,
            "最寄り駅: 浅草 / 最低宿泊数: 3泊",
        ),
        (
            "目黒区",
            "目黒川沿いの桜並木に面したロフト付きワンルーム",
            9_800,
            "最寄り駅: 中目黒 / 最低宿泊数: 7泊",
        ),
    ];
    let member = index + 1;
    let subject = format!("【新着】渋谷区の2LDK 1泊18,500円 ほか3件 (会員番号 {member})");

    let mut text =
        format!("会員{member}様\r\n\r\nご登録の条件に合う物件が4件見つかりました。\r\n\r\n");
    let mut html = format!(
        "<html><body><p>会員{member}様</p><p>ご登録の条件に合う物件が4件見つかりました。</p><ul>"
    );
    for (number, (ward, title, price, detail)) in LISTINGS.iter().enumerate() {
        let url = format!("{PUBLIC_URL}/l/{member}-{number}");
        let _ = write!(
            text,
            "■ {ward} {title}\r\n  1泊 {price}円 / {detail}\r\n  詳細: {url}\r\n\r\n"
        );
        let _ = write!(
            html,
            "<li><p><strong>{ward} {title}</strong></p><p>1泊 {price}円 / {detail}</p>\
             <p><a href=\"{url}\">詳細を見る</a></p></li>"
        );
    }
    let closing = "このメールは、物件の新着通知を希望された方にお送りしています。\
                   通知の条件はマイページからいつでも変更できます。";
    let _ = write!(
        text,
        "{closing}\r\n配信停止: {unsubscribe}\r\n\r\n東京ステイ不動産\r\n"
    );
    let _ = write!(
        html,
        "</ul><p>{closing}</p><p><a href=\"{unsubscribe}\">配信停止</a></p>\
         <p>東京ステイ不動産</p></body></html>"
    );
    Rendered {
        subject,
        text,
        html,
    }
}

/// Resets VmHWM to the current resident size (Linux 4.0 and later, `clear_refs` value 5).
fn reset_peak_rss() -> Result<(), BoxError> {
    fs::write("/proc/self/clear_refs", "5").map_err(|error| {
        format!("resetting the peak RSS through /proc/self/clear_refs failed: {error}")
    })?;
    Ok(())
}

/// Reads a `kB` field of /proc/self/status, such as VmHWM.
fn proc_status_kib(field: &str) -> Result<u64, BoxError> {
    let status = fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} line in /proc/self/status").into())
}

fn per_second(messages: usize, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}

/// Prints one line per key type, as `key=value` pairs that scripts/bench-send parses. Rates are
/// messages per second.
fn print_figures(figures: &Figures) {
    let key = match figures.algorithm {
        KeyAlgorithm::Rsa2048 => "rsa2048",
        KeyAlgorithm::Ed25519 => "ed25519",
    };
    let messages = figures.messages;
    println!(
        "result key={key} messages={messages} seconds={:.3} per_second={:.0} \
         send_only_per_second={:.0} \
         compose_per_second_one_core={:.0} sign_per_second_one_core={:.0} \
         compose_sign_per_second_all_cores={:.0} threads={} mean_bytes={} \
         body_bytes={} start_rss_mib={:.1} peak_rss_mib={:.1}",
        figures.sends.pipeline.as_secs_f64(),
        per_second(messages, figures.sends.pipeline),
        per_second(messages, figures.sends.send_only),
        per_second(messages, figures.compose_one_core),
        per_second(messages, figures.sign_one_core),
        per_second(messages, figures.compose_sign_all_cores),
        figures.threads,
        figures.sends.mean_signed_bytes,
        figures.body_bytes,
        figures.start_rss_kib as f64 / 1024.0,
        figures.peak_rss_kib as f64 / 1024.0,
    );
}
