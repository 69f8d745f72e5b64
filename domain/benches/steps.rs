//! Step-mail scheduler benchmark: with 1,000,000 enrollments scheduled, how long a due step waits
//! until the scheduler queues its delivery for the outbox, and what the reconciler's scan for
//! tenants with due steps costs. Goal: under 60 s at p99.
//!
//! Run with `cargo bench -p domain --bench steps`. Environment variables:
//! - `TAYORI_BENCH_ENROLLMENTS`: enrollments scheduled (default 1,000,000).
//! - `TAYORI_BENCH_TENANTS`: tenants that split them evenly, one sequence each (default 1).
//! - `TAYORI_BENCH_MINUTES`: simulated minutes of the steady phase (default 60).
//! - `TAYORI_BENCH_BURST`: enrollments of each burst phase, 0 to skip them (default 100,000).
//! - `TAYORI_BENCH_EXPLAIN`: when set, print the plans of the scan and of the batch query at
//!   the end of each phase.
//! - `TAYORI_TEST_POSTGRES_URL`: the server's admin database, as for the tests (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! The benchmark creates a database of its own and drops it at the end, also after a panic or
//! Ctrl-C. Each tenant gets one sequence whose only step is due at the trigger (`after_previous`,
//! 0 minutes, no quiet hours), one active member per enrollment, and the enrollments, due at
//! random times (fixed seed) spread uniformly over 24 simulated hours. An enrollment's
//! `triggered_at` is its due time, which `run_due` never changes. So each delivery's delay is
//! computed from its enrollment's `triggered_at` after the run, with no query during the timing.
//!
//! The clock: the worker's reconciler runs every 30 s, so the benchmark plays a tick every 30
//! simulated seconds. A tick calls `tenants_with_due` (the scan) and then `run_due` for each
//! tenant until `more` is false, as the `run_steps` job does by queuing itself again. Within a
//! tick, simulated time moves with real time: a call that starts `e` seconds after the tick at
//! `T` gets `now = T + e`, as the job passes `Utc::now()`. Its deliveries are handed to the
//! sender at `T + e'`, where `e'` is the real time elapsed when the call returns. Each call's
//! `now` is distinct and becomes the `created_at` of the deliveries it queues, so every delivery
//! maps to exactly one call. A tick whose work runs past the next tick's time moves that tick to
//! the first 30 s boundary after the work ends. In the worker, a reconciler job arriving during
//! the work would find the tenant's lease taken, or take the next batch in turn.
//!
//! Phases, each on top of the uniform schedule:
//! 1. Steady: `TAYORI_BENCH_MINUTES` simulated minutes of the uniform schedule alone.
//! 2. Burst within one minute: the `TAYORI_BENCH_BURST` enrollments due last (after the
//!    simulated span) move to random times within one minute, starting 2 minutes later.
//! 3. Burst at one instant: the next `TAYORI_BENCH_BURST` enrollments due last move to one
//!    instant 1 s after a tick, as for a "day 3 at 10:00" step of members who signed up on the
//!    same day. They wait 29 s for the next tick, near the worst case, so the p99 delay shows
//!    the scheduler's throughput.
//!
//! Each burst phase runs until 3 minutes after its first due time (longer if the work overruns).
//!
//! NOTE: tenants are served one after the other in a tick. The worker runs the jobs of different
//! tenants concurrently, so with several tenants the delays here are an upper bound. The job
//! queue's latency between the batches of one tenant is not included.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on broken set-up"
)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::{
    TenantId,
    entities::{sequence, sequence_step},
    steps::run,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    Set, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

/// How often the worker's reconciler looks for due steps (`RECONCILE_INTERVAL` in the worker).
const TICK: TimeDelta = TimeDelta::seconds(30);
/// The span over which the enrollments' due times are spread.
const DUE_WINDOW: TimeDelta = TimeDelta::hours(24);
/// The span within which the burst's enrollments are due.
const BURST_WINDOW: TimeDelta = TimeDelta::minutes(1);
/// The goal for the p99 delay, in seconds.
const GOAL_P99_SECONDS: f64 = 60.0;

struct Config {
    admin_url: String,
    enrollments: u64,
    tenants: u64,
    minutes: u64,
    burst: u64,
    explain: bool,
}

impl Config {
    fn from_env() -> Self {
        let config = Self {
            admin_url: std::env::var("TAYORI_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
            enrollments: env_number("TAYORI_BENCH_ENROLLMENTS", 1_000_000),
            tenants: env_number("TAYORI_BENCH_TENANTS", 1),
            minutes: env_number("TAYORI_BENCH_MINUTES", 60),
            burst: env_number("TAYORI_BENCH_BURST", 100_000),
            explain: std::env::var_os("TAYORI_BENCH_EXPLAIN").is_some(),
        };
        assert!(
            config.tenants >= 1 && config.tenants <= config.enrollments,
            "TAYORI_BENCH_TENANTS must be between 1 and TAYORI_BENCH_ENROLLMENTS"
        );
        assert!(
            config.minutes >= 1,
            "TAYORI_BENCH_MINUTES must be at least 1"
        );
        assert!(
            config.burst <= config.enrollments / 4,
            "TAYORI_BENCH_BURST must be at most a quarter of TAYORI_BENCH_ENROLLMENTS, so that \
             the two bursts take enrollments due after the simulated span"
        );
        config
    }
}

/// Reads a whole number from the environment, where `_` may group digits.
fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Phase {
    /// The uniform schedule alone.
    Steady,
    /// A burst due at random times within one minute, on top of the uniform schedule.
    SpreadBurst,
    /// A burst due at one instant, 1 s after a tick, on top of the uniform schedule.
    InstantBurst,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Steady => "steady",
            Phase::SpreadBurst => "burst within one minute",
            Phase::InstantBurst => "burst at one instant",
        }
    }
}

/// One reconciler tick.
struct Tick {
    at: DateTime<Utc>,
    phase: Phase,
    /// Real time of `tenants_with_due`.
    scan: Duration,
    /// Real time of the whole tick: the scan and every `run_due` call.
    work: Duration,
}

/// One `run_due` call, keyed by the `now` it was given.
struct Call {
    phase: Phase,
    tenant_id: TenantId,
    /// Simulated time at which the call returned: its deliveries are handed to the sender then.
    handed_at: DateTime<Utc>,
    duration: Duration,
    queued: usize,
}

/// Measurements of the simulation.
#[derive(Default)]
struct Record {
    ticks: Vec<Tick>,
    calls: HashMap<DateTime<Utc>, Call>,
    /// CPU time spent during each phase's simulation.
    cpu: HashMap<Phase, CpuTime>,
}

/// CPU time of this process and of the PostgreSQL backends serving it, from the kernel's
/// scheduler statistics (`/proc/PID/schedstat`, nanoseconds on a CPU).
#[derive(Debug, Default, Clone, Copy)]
struct CpuTime {
    client: Duration,
    server: Duration,
}

impl CpuTime {
    /// Reads the CPU time so far. Threads and backends that have exited are not counted, so
    /// a pool that replaced a connection during a phase would make the server figure low.
    async fn now(db: &DatabaseConnection) -> Self {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
            ))
            .await
            .unwrap();
        let server = rows
            .iter()
            .map(|row| {
                let pid: i32 = row.try_get_by_index(0).unwrap();
                scheduled(&format!("/proc/{pid}/schedstat"))
            })
            .sum();
        let client = std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .map(|task| scheduled(&format!("{}/schedstat", task.path().display())))
                    .sum()
            })
            .unwrap_or_default();
        Self { client, server }
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            client: self.client.saturating_sub(earlier.client),
            server: self.server.saturating_sub(earlier.server),
        }
    }
}

/// Returns the time on a CPU from a `schedstat` file, or zero when it cannot be read.
fn scheduled(path: &str) -> Duration {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn main() {
    let config = Config::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let succeeded = runtime.block_on(async {
        let (name, url) = create_database(&config.admin_url).await;
        let admin_url = config.admin_url.clone();
        let mut body = tokio::spawn(benchmark(config, url));
        let succeeded = tokio::select! {
            joined = &mut body => match joined {
                Ok(()) => true,
                // The panic hook has printed the message already.
                Err(error) => {
                    eprintln!("the benchmark failed: {error}");
                    false
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted");
                false
            }
        };
        drop_database(&admin_url, &name).await;
        succeeded
    });
    if !succeeded {
        std::process::exit(1);
    }
}

/// Creates an empty database with a unique name and returns its name and URL.
async fn create_database(admin_url: &str) -> (String, String) {
    let name = format!("tayori_bench_steps_{}", Uuid::now_v7().simple());
    let admin = Database::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is not reachable: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let _ = admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TAYORI_TEST_POSTGRES_URL has no database name");
    (name.clone(), format!("{base}/{name}"))
}

/// Drops the benchmark's database, closing any connection still open to it.
async fn drop_database(admin_url: &str, name: &str) {
    let dropped = async {
        let admin = Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin.close().await
    };
    if let Err(error) = dropped.await {
        eprintln!("dropping database {name} failed: {error}. Drop it with `DROP DATABASE {name}`.");
    }
}

async fn benchmark(config: Config, url: String) {
    let mut options = ConnectOptions::new(url);
    options.max_connections(4).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    Migrator::up(&db, None).await.unwrap();

    let start = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
    let populated = Instant::now();
    let tenants = populate(&db, &config, start).await;
    let set_up = populated.elapsed();
    let round_trip = median_round_trip(&db).await;

    let mut record = Record::default();
    let steady_end = start + TimeDelta::minutes(i64::try_from(config.minutes).unwrap());
    let mut next = simulate(&db, start + TICK, steady_end, Phase::Steady, &mut record).await;
    explain(&db, &config, Phase::Steady, next - TICK).await;

    let mut burst = HashMap::new();
    if config.burst > 0 {
        for phase in [Phase::SpreadBurst, Phase::InstantBurst] {
            // `next` is a tick, so the instant burst is due 1 s after a tick.
            let (due_from, window) = match phase {
                Phase::SpreadBurst => (next + TimeDelta::minutes(2), BURST_WINDOW),
                _ => (
                    next + TimeDelta::minutes(2) + TimeDelta::seconds(1),
                    TimeDelta::zero(),
                ),
            };
            let moved = schedule_burst(&db, config.burst, due_from, window).await;
            assert_eq!(
                moved.len() as u64,
                config.burst,
                "the burst moved too few enrollments"
            );
            burst.extend(moved.into_iter().map(|id| (id, phase)));
            let until = due_from + BURST_WINDOW + TimeDelta::minutes(2);
            next = simulate(&db, next, until, phase, &mut record).await;
            explain(&db, &config, phase, next - TICK).await;
        }
    }
    // A tenant's last call returned `more = false`, so nothing was due at its `now`.
    let mut last_calls: HashMap<TenantId, DateTime<Utc>> = HashMap::new();
    for (now, call) in &record.calls {
        let last = last_calls.entry(call.tenant_id).or_insert(*now);
        *last = (*last).max(*now);
    }
    for (tenant_id, last_now) in last_calls {
        let left = count(
            &db,
            "SELECT count(*) FROM enrollments WHERE tenant_id = $1 AND state = 'active' \
             AND next_due_at <= $2",
            [tenant_id.0.into(), last_now.into()],
        )
        .await;
        assert_eq!(
            left, 0,
            "enrollments of tenant {tenant_id} due before its last run were left behind"
        );
    }

    let delays = delays(&db, &record, &burst).await;
    print_report(
        &config, &tenants, set_up, round_trip, &record, &delays, next,
    );
}

/// Inserts the tenants, their sequences, members and enrollments, then vacuums and analyzes
/// the tables, as autovacuum would have done on a database in service.
async fn populate(db: &DatabaseConnection, config: &Config, start: DateTime<Utc>) -> Vec<TenantId> {
    let mut tenants = Vec::new();
    for index in 0..config.tenants {
        let tenant_id = TenantId::new();
        // Plain SQL, so that columns added to `tenants` later with a default need no change here.
        execute(
            db,
            "INSERT INTO tenants (id, slug, name, default_locale, time_zone, created_at, \
             listing_count, notify_on_change, matching_revision, sender_id) \
             VALUES ($1, $2, $3, 'ja', 'Asia/Tokyo', $4, 0, false, 0, NULL)",
            [
                tenant_id.0.into(),
                format!("bench-{index}").into(),
                format!("Bench {index}").into(),
                (start - DUE_WINDOW).into(),
            ],
        )
        .await;
        let sequence_id = Uuid::now_v7();
        sequence::ActiveModel {
            id: Set(sequence_id),
            tenant_id: Set(tenant_id.0),
            name: Set("Welcome".to_owned()),
            trigger_event: Set("signup".to_owned()),
            goal_event: Set(None),
            quiet_start: Set(None),
            quiet_end: Set(None),
            weekdays: Set(0b111_1111),
            on_retrigger: Set("resume".to_owned()),
            active: Set(true),
            created_at: Set(start - DUE_WINDOW),
            updated_at: Set(start - DUE_WINDOW),
        }
        .insert(db)
        .await
        .unwrap();
        sequence_step::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id.0),
            sequence_id: Set(sequence_id),
            position: Set(0),
            timing: Set("after_previous".to_owned()),
            days: Set(None),
            at_minute: Set(None),
            delay_minutes: Set(Some(0)),
            subject: Set("ようこそ {{ member.email }}".to_owned()),
            text_body: Set("ご登録ありがとうございます。".to_owned()),
            html_body: Set("<p>ご登録ありがとうございます。</p>".to_owned()),
            created_at: Set(start - DUE_WINDOW),
            updated_at: Set(start - DUE_WINDOW),
        }
        .insert(db)
        .await
        .unwrap();

        // The first tenants take the remainder, so that the counts add up.
        let members = config.enrollments / config.tenants
            + u64::from(index < config.enrollments % config.tenants);
        let tx = db.begin().await.unwrap();
        // `setseed` applies to the session, so it runs in the transaction of the inserts.
        #[expect(clippy::cast_precision_loss, reason = "tenant counts are small")]
        let seed = (index + 1) as f64 / (config.tenants + 1) as f64;
        tx.execute_unprepared(&format!("SELECT setseed({seed})"))
            .await
            .unwrap();
        execute(
            &tx,
            "INSERT INTO members (id, tenant_id, email, email_key, locale, frequency, digest_hour, \
             digest_weekday, status, profile, next_digest_at, created_at, updated_at) \
             SELECT gen_random_uuid(), $1, 'member' || i || '@example.jp', \
             'member' || i || '@example.jp', 'ja', 'daily', 9, 0, 'active', '{}', NULL, $2, $2 \
             FROM generate_series(1, $3) AS i",
            [
                tenant_id.0.into(),
                (start - DUE_WINDOW).into(),
                i64::try_from(members).unwrap().into(),
            ],
        )
        .await;
        // The step is due at the trigger, so `triggered_at` is the due time.
        execute(
            &tx,
            "INSERT INTO enrollments (id, tenant_id, sequence_id, member_id, state, ended_reason, \
             triggered_at, handled_position, handled_at, next_due_at, created_at, updated_at) \
             SELECT gen_random_uuid(), tenant_id, $2, id, 'active', NULL, due, NULL, NULL, due, \
             due, due \
             FROM (SELECT tenant_id, id, $3 + make_interval(secs => random() * $4) AS due \
                   FROM members WHERE tenant_id = $1) AS scheduled",
            [
                tenant_id.0.into(),
                sequence_id.into(),
                start.into(),
                seconds(DUE_WINDOW).into(),
            ],
        )
        .await;
        tx.commit().await.unwrap();
        tenants.push(tenant_id);
    }
    db.execute_unprepared("VACUUM ANALYZE members, enrollments")
        .await
        .unwrap();
    tenants
}

/// Moves the `size` enrollments due last to random times within `window` from `at`, and returns
/// the ids of those moved.
async fn schedule_burst(
    db: &DatabaseConnection,
    size: u64,
    at: DateTime<Utc>,
    window: TimeDelta,
) -> Vec<Uuid> {
    let tx = db.begin().await.unwrap();
    tx.execute_unprepared("SELECT setseed(0.5)").await.unwrap();
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE enrollments SET next_due_at = moved.due, triggered_at = moved.due, \
             created_at = moved.due, updated_at = moved.due \
             FROM (SELECT id, $2 + make_interval(secs => random() * $3) AS due FROM enrollments \
                   WHERE state = 'active' AND next_due_at IS NOT NULL \
                   ORDER BY next_due_at DESC LIMIT $1) AS moved \
             WHERE enrollments.id = moved.id \
             RETURNING enrollments.id",
            [
                i64::try_from(size).unwrap().into(),
                at.into(),
                seconds(window).into(),
            ],
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect()
}

/// Plays reconciler ticks from `first` up to and including `until`, and returns the time of the
/// next tick.
async fn simulate(
    db: &DatabaseConnection,
    first: DateTime<Utc>,
    until: DateTime<Utc>,
    phase: Phase,
    record: &mut Record,
) -> DateTime<Utc> {
    let cpu_before = CpuTime::now(db).await;
    let mut at = first;
    while at <= until {
        let started = Instant::now();
        // Simulated time at the current real instant of this tick, in whole microseconds as
        // PostgreSQL stores them, so that `created_at` equals the `now` given.
        let clock =
            || at + TimeDelta::microseconds(i64::try_from(started.elapsed().as_micros()).unwrap());

        let tenants = run::tenants_with_due(db, at).await.unwrap();
        let scan = started.elapsed();
        for tenant_id in tenants {
            loop {
                let now = clock();
                let call_started = Instant::now();
                let report = run::run_due(db, tenant_id, now).await.unwrap();
                let call = Call {
                    phase,
                    tenant_id,
                    handed_at: clock(),
                    duration: call_started.elapsed(),
                    queued: report.queued,
                };
                assert_eq!(
                    report.ended, 0,
                    "no member unsubscribed, yet enrollments ended"
                );
                assert!(
                    record.calls.insert(now, call).is_none(),
                    "two run_due calls got the same now ({now})"
                );
                if !report.more {
                    break;
                }
            }
        }
        let work = started.elapsed();
        record.ticks.push(Tick {
            at,
            phase,
            scan,
            work,
        });

        let finished = clock();
        at += TICK;
        while at <= finished {
            at += TICK;
        }
    }
    let cpu = CpuTime::now(db).await.since(cpu_before);
    record.cpu.insert(phase, cpu);
    at
}

/// Delays in seconds from due to handed to the sender.
#[derive(Default)]
struct Delays {
    /// Every delivery, by the phase of the call that queued it.
    by_phase: HashMap<Phase, Vec<f64>>,
    /// The deliveries of each burst's own enrollments.
    burst: HashMap<Phase, Vec<f64>>,
}

/// Computes every delivery's delay: the simulated time its `run_due` call returned (found by the
/// delivery's `created_at`, the call's `now`) minus its enrollment's due time (`triggered_at`).
/// `burst` maps the ids of the bursts' enrollments to their phase.
async fn delays(db: &DatabaseConnection, record: &Record, burst: &HashMap<Uuid, Phase>) -> Delays {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT d.created_at, e.triggered_at, e.id FROM deliveries d \
             JOIN enrollments e ON e.id = d.enrollment_id WHERE d.kind = 'step'",
        ))
        .await
        .unwrap();
    let mut found: HashMap<DateTime<Utc>, usize> = HashMap::new();
    let mut delays = Delays::default();
    for row in rows {
        let created_at: DateTime<Utc> = row.try_get("", "created_at").unwrap();
        let due: DateTime<Utc> = row.try_get("", "triggered_at").unwrap();
        let enrollment_id: Uuid = row.try_get("", "id").unwrap();
        let call = record
            .calls
            .get(&created_at)
            .unwrap_or_else(|| panic!("no run_due call was given now = {created_at}"));
        assert!(
            due <= created_at,
            "a step due at {due} was queued at {created_at}"
        );
        *found.entry(created_at).or_default() += 1;
        let delay = seconds(call.handed_at - due);
        delays.by_phase.entry(call.phase).or_default().push(delay);
        if let Some(phase) = burst.get(&enrollment_id) {
            assert_eq!(*phase, call.phase, "a burst was queued in a later phase");
            delays.burst.entry(*phase).or_default().push(delay);
        }
    }
    for (now, call) in &record.calls {
        assert_eq!(
            found.get(now).copied().unwrap_or(0),
            call.queued,
            "deliveries of the run_due call at {now}"
        );
    }
    delays
}

fn print_report(
    config: &Config,
    tenants: &[TenantId],
    set_up: Duration,
    round_trip: Duration,
    record: &Record,
    delays: &Delays,
    next_tick: DateTime<Utc>,
) {
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let per_minute = config.enrollments as f64 / (seconds(DUE_WINDOW) / 60.0);
    println!(
        "enrollments: {} in {} tenant(s), due uniformly over 24 h ({per_minute:.0} a minute); \
         set-up {:.1} s",
        thousands(config.enrollments),
        tenants.len(),
        set_up.as_secs_f64()
    );
    println!(
        "round trip of `SELECT 1`: median {:.3} ms",
        round_trip.as_secs_f64() * 1000.0
    );

    let phases = if config.burst > 0 {
        vec![Phase::Steady, Phase::SpreadBurst, Phase::InstantBurst]
    } else {
        vec![Phase::Steady]
    };
    let mut worst_p99: f64 = 0.0;
    for (index, phase) in phases.iter().enumerate() {
        // A phase lasts from its first tick to the first tick of the next phase.
        let first_tick = |phase: Phase| record.ticks.iter().find(|tick| tick.phase == phase);
        let end = phases
            .get(index + 1)
            .and_then(|next| first_tick(*next))
            .map_or(next_tick, |tick| tick.at);
        let span = first_tick(*phase).map_or(TimeDelta::zero(), |first| end - first.at);
        let mut title = format!("{} phase", phase.name());
        if *phase != Phase::Steady {
            title += &format!(", {} more enrollments", thousands(config.burst));
        }
        let samples = delays.by_phase.get(phase).map_or(&[][..], Vec::as_slice);
        print_phase(&title, span, record, *phase, samples);
        worst_p99 = worst_p99.max(delay_percentiles(samples).1);
        if let Some(own) = delays.burst.get(phase) {
            let (p50, p99, max) = delay_percentiles(own);
            println!(
                "  the burst's own {} deliveries: delay p50 {p50:.1} s, p99 {p99:.1} s, max \
                 {max:.1} s",
                thousands(own.len() as u64)
            );
        }
    }
    println!("peak RSS of this process (VmHWM): {}", peak_rss());
    println!(
        "goal p99 under {GOAL_P99_SECONDS:.0} s: {} (worst phase p99 {worst_p99:.1} s)",
        if worst_p99 < GOAL_P99_SECONDS {
            "met"
        } else {
            "missed"
        }
    );
}

fn print_phase(title: &str, span: TimeDelta, record: &Record, phase: Phase, delays: &[f64]) {
    let ticks: Vec<&Tick> = record
        .ticks
        .iter()
        .filter(|tick| tick.phase == phase)
        .collect();
    let calls: Vec<&Call> = record
        .calls
        .values()
        .filter(|call| call.phase == phase)
        .collect();
    let queued: usize = calls.iter().map(|call| call.queued).sum();
    println!(
        "{title}: {:.1} simulated minutes, {} ticks, {} run_due calls, {} deliveries",
        seconds(span) / 60.0,
        ticks.len(),
        calls.len(),
        thousands(queued as u64)
    );
    let (p50, p99, max) = delay_percentiles(delays);
    println!("  delay from due to queued: p50 {p50:.1} s, p99 {p99:.1} s, max {max:.1} s");

    let scans: Vec<f64> = ticks.iter().map(|t| millis(t.scan)).collect();
    let (scan_p50, scan_p99) = percentiles(scans.clone());
    print!("  scan (tenants_with_due) per tick: median {scan_p50:.2} ms, p99 {scan_p99:.2} ms");
    // Dead index entries of handled enrollments could slow the scan down as a phase goes on.
    if scans.len() >= 20 {
        let (first_p50, _) = percentiles(scans[..10].to_vec());
        let (last_p50, _) = percentiles(scans[scans.len() - 10..].to_vec());
        print!(", median of the first 10 ticks {first_p50:.2} ms, of the last 10 {last_p50:.2} ms");
    }
    println!();

    // Real time of the ticks in each simulated minute, from just after its start up to and
    // including its end, so that the ticks at :30 and :00 make up a minute.
    let mut minutes: HashMap<i64, f64> = HashMap::new();
    for tick in &ticks {
        let minute = (tick.at.timestamp() - 1).div_euclid(60);
        *minutes.entry(minute).or_default() += tick.work.as_secs_f64();
    }
    let (minute_p50, minute_p99) = percentiles(minutes.into_values().collect());
    let total: f64 = ticks.iter().map(|tick| tick.work.as_secs_f64()).sum();
    println!(
        "  scheduler real time per simulated minute (scan and run_due): median {minute_p50:.3} s, \
         p99 {minute_p99:.3} s, total {total:.1} s"
    );

    let cpu = record.cpu.get(&phase).copied().unwrap_or_default();
    println!(
        "  CPU time during the phase: this process {:.1} s, PostgreSQL backends {:.1} s",
        cpu.client.as_secs_f64(),
        cpu.server.as_secs_f64()
    );

    let run_time: f64 = calls.iter().map(|call| call.duration.as_secs_f64()).sum();
    let full: Vec<f64> = calls
        .iter()
        .filter(|call| call.queued == 500)
        .map(|call| millis(call.duration))
        .collect();
    let full_batches = full.len();
    let (full_p50, _) = percentiles(full);
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let per_delivery = run_time * 1000.0 / queued.max(1) as f64;
    println!(
        "  run_due: {per_delivery:.3} ms per delivery on average; {full_batches} full batches of \
         500, median {full_p50:.0} ms each"
    );
}

/// Prints the plans of the scan and of the batch query of `run_due` at `at`, with their buffer
/// counts, when `TAYORI_BENCH_EXPLAIN` is set. The SQL is written here to match the queries
/// that `tenants_with_due` and `run_due` build.
async fn explain(db: &DatabaseConnection, config: &Config, phase: Phase, at: DateTime<Utc>) {
    if !config.explain {
        return;
    }
    let tenant_id: Uuid = {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT id FROM tenants LIMIT 1",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    };
    let queries: [(&str, Vec<Value>); 2] = [
        (
            "SELECT DISTINCT tenant_id FROM enrollments WHERE next_due_at <= $1",
            vec![at.into()],
        ),
        (
            "SELECT * FROM enrollments WHERE tenant_id = $1 AND next_due_at <= $2 \
             AND state = 'active' ORDER BY next_due_at LIMIT 500",
            vec![tenant_id.into(), at.into()],
        ),
    ];
    println!("plans at the end of the {} phase:", phase.name());
    for (sql, values) in queries {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
                values,
            ))
            .await
            .unwrap();
        println!("  {sql}");
        for row in rows {
            let line: String = row.try_get_by_index(0).unwrap();
            println!("    {line}");
        }
    }
}

/// Returns the median and 99th percentile (nearest rank), or NaN for no samples.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

/// Returns the median, 99th percentile and maximum, or NaN for no samples.
fn delay_percentiles(samples: &[f64]) -> (f64, f64, f64) {
    let (p50, p99) = percentiles(samples.to_vec());
    let max = samples.iter().copied().fold(f64::NAN, f64::max);
    (p50, p99, max)
}

/// Measures the median round trip of a trivial query, the floor under each statement.
async fn median_round_trip(db: &DatabaseConnection) -> Duration {
    let mut samples = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        let started = Instant::now();
        db.execute_unprepared("SELECT 1").await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

async fn execute<const N: usize>(db: &impl ConnectionTrait, sql: &str, values: [Value; N]) -> u64 {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql} failed: {e}"))
    .rows_affected()
}

async fn count<const N: usize>(db: &DatabaseConnection, sql: &str, values: [Value; N]) -> i64 {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Returns the process's peak resident set size from `/proc/self/status`.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().strip_suffix(" kB")?.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.0} MiB", kib / 1024.0),
        )
}

#[expect(
    clippy::cast_precision_loss,
    reason = "spans are far below 2^52 microseconds"
)]
fn seconds(span: TimeDelta) -> f64 {
    span.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Formats a count with commas between groups of three digits.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
