//! `dhrotate daemon`: rotations on a cron schedule, one at a time.
//!
//! tokio-cron-scheduler only says "it is time"; everything else happens in
//! one loop, so the daemon's whole state (settings, the run in progress,
//! the refill child) has one owner and shutdown has one path:
//!
//! - a tick waits a random delay (`jitter`), then runs a rotation on the
//!   blocking pool; ticks that arrive while one is due or running are
//!   dropped, never queued;
//! - SIGHUP re-reads the configuration; a bad one is logged and the
//!   running one kept;
//! - SIGTERM/SIGINT cancel a generation in progress (the rotation then
//!   fails before writing anything), wait for a rotation past its
//!   generation to finish its edit or rollback, stop the refill child, and
//!   exit 0;
//! - the pool is refilled by a `dhrotate pool fill` child (nice 19, in a
//!   session of its own) after each rotation, so the daemon itself stays
//!   small while idle.
//!
//! systemd hears READY=1 once the schedule is armed, STATUS= lines on every
//! change, RELOADING=1 around SIGHUP and STOPPING=1 at the end; all of it
//! is a no-op outside systemd.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{Local, TimeZone};
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::{error, info, warn};
use uuid::Uuid;

use crate::config::Settings;
use crate::dh::search::Control;
use crate::ops::service::refill::Refill;
use crate::sys::schedule::{self, Schedule};

/// How long a stop waits for a rotation that is already editing.
const STOP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// One rotation with the given settings; cancellable through the control.
/// Returns a one-line summary for the log.
pub type Rotate = dyn Fn(&Settings, &Arc<Control>) -> Result<String> + Send + Sync;

/// What the daemon calls out to: the seams tests replace.
pub struct Seams {
    /// Reads and validates the configuration (at start and on SIGHUP).
    pub load: Box<dyn Fn() -> Result<Settings>>,
    /// One rotation.
    pub rotate: Arc<Rotate>,
    /// The pool refill run after each rotation; `None` never refills.
    pub refill: Option<Refill>,
}

impl Seams {
    /// The real thing: rotations against the system's Postfix as the
    /// settings name it, groups from the pool or the search.
    pub fn system(load: Box<dyn Fn() -> Result<Settings>>, refill: Option<Refill>) -> Seams {
        Seams {
            load,
            rotate: Arc::new(|settings: &Settings, control: &Arc<Control>| {
                use crate::ops::rotate::{Seen, summary};
                let postfix = crate::ops::system_postfix(settings);
                let never = crate::sys::signals::Interrupt::never();
                let before = summary::fingerprints(settings);
                let started = std::time::Instant::now();
                let mut seen = Seen::default();
                let result = crate::ops::rotate::now(
                    settings,
                    &postfix,
                    Arc::clone(control),
                    never,
                    false,
                    &mut seen,
                );
                if let Err(e) = crate::ops::inspect::metrics::refresh(settings, None) {
                    tracing::warn!("{e:#}");
                }
                // The run as `now --json` describes it, one journal record.
                let code = result.as_ref().err().map_or(0, crate::ops::exit_code);
                let doc =
                    summary::build(settings, &result, &seen, &before, started.elapsed(), code);
                tracing::info!(
                    run_outcome = ?doc.outcome,
                    run_summary = %serde_json::to_string(&doc).unwrap_or_default(),
                    "run finished"
                );
                Ok(result?.summary())
            }),
            refill,
        }
    }
}

/// Runs the daemon on its own runtime until SIGTERM or SIGINT. One thread
/// drives the schedule and signals; rotations run on tokio's blocking pool
/// and the search starts its own threads.
pub fn serve(seams: Seams) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = runtime.block_on(run(seams));
    // `run` already waited as long as a stop may take; a rotation thread
    // still running then is abandoned, not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Runs until SIGTERM or SIGINT. Errors only when it cannot start (bad
/// configuration, no signal handlers, scheduler failure).
pub async fn run(seams: Seams) -> Result<()> {
    let (tick_tx, mut ticks) = mpsc::channel::<()>(1);
    let mut d = Daemon::start(seams, tick_tx).await?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    d.ready();
    loop {
        // Each handler runs after the other branches' futures are dropped,
        // so it may take the whole daemon.
        tokio::select! {
            Some(()) = ticks.recv() => d.tick(),
            _ = tokio::time::sleep_until(d.due.unwrap_or_else(Instant::now)), if d.due.is_some() && d.running.is_none() => {
                d.rotate().await;
            }
            result = async { d.running.as_mut().expect("guarded").await }, if d.running.is_some() => {
                d.rotated(result).await?;
            }
            status = async { d.refill.as_mut().expect("guarded").wait().await }, if d.refill.is_some() => {
                d.refilled(status);
            }
            _ = hup.recv() => d.reload().await?,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    d.stop().await;
    Ok(())
}

/// The daemon's whole state, owned by `run`'s loop.
struct Daemon {
    seams: Seams,
    settings: Settings,
    schedule: Schedule,
    scheduler: JobScheduler,
    /// The cron job, remade after each run and on a new schedule.
    job: Uuid,
    tick_tx: mpsc::Sender<()>,
    control: Arc<Control>,
    /// When the next rotation starts (a tick plus its jitter).
    due: Option<Instant>,
    running: Option<tokio::task::JoinHandle<Result<String>>>,
    refill: Option<tokio::process::Child>,
}

impl Daemon {
    /// Reads the configuration and arms the schedule.
    async fn start(seams: Seams, tick_tx: mpsc::Sender<()>) -> Result<Daemon> {
        let settings = (seams.load)()?;
        let schedule = Schedule::new(&settings.schedule.cron, settings.schedule.jitter)?;
        let scheduler = JobScheduler::new()
            .await
            .context("starting the scheduler")?;
        let job = add_job(&scheduler, &schedule, &tick_tx).await?;
        scheduler.start().await.context("starting the scheduler")?;
        Ok(Daemon {
            seams,
            settings,
            schedule,
            scheduler,
            job,
            tick_tx,
            control: Arc::new(Control::default()),
            due: None,
            running: None,
            refill: None,
        })
    }

    /// A missed rotation is made due at once (`catch_up`); otherwise the
    /// pool is refilled while waiting. Then systemd hears READY=1.
    fn ready(&mut self) {
        let last = last_run(&self.settings);
        if self.settings.schedule.catch_up && self.schedule.missed(last, Local::now()) {
            info!(
                last_run = %last.map_or_else(|| "never".to_string(), |t| t.to_rfc3339()),
                "a scheduled rotation was missed; running one now"
            );
            self.due = Some(Instant::now() + self.schedule.delay(schedule::random_u64()));
        } else if self.settings.pool_size > 0 {
            self.refill = start_refill(self.seams.refill.as_ref());
        }
        info!(cron = self.schedule.expr(), jitter = ?self.settings.schedule.jitter, "daemon started");
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(&idle_status(&self.schedule, self.due.is_some())),
        ]);
    }

    /// The schedule fired: a rotation is due after its jitter, unless one
    /// is due or running already.
    fn tick(&mut self) {
        if self.due.is_some() || self.running.is_some() {
            warn!("scheduled rotation skipped: the previous one is still due or running");
            return;
        }
        let delay = self.schedule.delay(schedule::random_u64());
        info!(delay = ?delay, "rotation due");
        self.due = Some(Instant::now() + delay);
        notify(&[NotifyState::Status(&format!(
            "rotation due in {}s (jitter)",
            delay.as_secs()
        ))]);
    }

    /// Starts the due rotation on the blocking pool.
    async fn rotate(&mut self) {
        self.due = None;
        // The refill and the rotation would both take pool groups and both
        // want the cores: the rotation goes first.
        stop_refill(&mut self.refill).await;
        self.control.cancel.store(false, Ordering::SeqCst);
        let (s, c, rotate) = (
            self.settings.clone(),
            Arc::clone(&self.control),
            Arc::clone(&self.seams.rotate),
        );
        self.running = Some(tokio::task::spawn_blocking(move || rotate(&s, &c)));
        notify(&[NotifyState::Status("rotating")]);
    }

    /// A rotation ended: logged, the pool refilled after a success, the
    /// schedule re-armed.
    async fn rotated(
        &mut self,
        result: Result<Result<String>, tokio::task::JoinError>,
    ) -> Result<()> {
        self.running = None;
        match result {
            Ok(Ok(summary)) => {
                info!(outcome = "ok", "rotation finished: {summary}");
                if self.settings.pool_size > 0 {
                    self.refill = start_refill(self.seams.refill.as_ref());
                }
            }
            Ok(Err(e)) => error!(outcome = "failed", "rotation failed: {e:#}"),
            Err(e) => error!(outcome = "failed", "rotation task died: {e}"),
        }
        // The scheduler fixes the UTC offset when a job is made: remaking
        // it after each run follows daylight saving time.
        if let Err(e) = self.scheduler.remove(&self.job).await {
            warn!("re-arming the schedule: {e}");
        }
        self.job = add_job(&self.scheduler, &self.schedule, &self.tick_tx).await?;
        notify(&[NotifyState::Status(&idle_status(&self.schedule, false))]);
        Ok(())
    }

    fn refilled(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        self.refill = None;
        match status {
            Ok(s) if s.success() => info!("pool refilled"),
            Ok(s) => warn!("pool refill ended with {s}"),
            Err(e) => warn!("waiting for the pool refill: {e}"),
        }
    }

    /// SIGHUP: the configuration read again; a bad one is logged and the
    /// running one kept.
    async fn reload(&mut self) -> Result<()> {
        notify(&[NotifyState::Reloading]);
        let loaded = (self.seams.load)()
            .and_then(|s| Ok((Schedule::new(&s.schedule.cron, s.schedule.jitter)?, s)));
        match loaded {
            Ok((schedule, settings)) => {
                if schedule.expr() != self.schedule.expr() {
                    if let Err(e) = self.scheduler.remove(&self.job).await {
                        warn!("removing the old schedule: {e}");
                    }
                    self.job = add_job(&self.scheduler, &schedule, &self.tick_tx).await?;
                }
                self.schedule = schedule;
                self.settings = settings;
                info!(cron = self.schedule.expr(), "configuration re-read");
            }
            Err(e) => {
                error!("re-reading the configuration failed; keeping the previous one: {e:#}")
            }
        }
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(&idle_status(&self.schedule, self.due.is_some())),
        ]);
        Ok(())
    }

    /// SIGTERM/SIGINT: a generation in progress is cancelled, a rotation
    /// past it awaited (no longer than STOP_DEADLINE), the refill stopped.
    async fn stop(mut self) {
        notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
        info!("stopping");
        self.control.cancel.store(true, Ordering::SeqCst);
        if let Some(handle) = self.running.take() {
            // A rotation still generating fails at once without writing;
            // one already editing finishes (or rolls back) within its
            // timeouts, but no longer than STOP_DEADLINE, which stays below
            // the unit's TimeoutStopSec=90: then the process ends anyway,
            // which every step is built to survive (atomic writes; a reload
            // owed is paid by the next run).
            match tokio::time::timeout(STOP_DEADLINE, handle).await {
                Ok(Ok(Ok(summary))) => info!(outcome = "ok", "rotation finished: {summary}"),
                Ok(Ok(Err(e))) => warn!(outcome = "cancelled", "rotation stopped: {e:#}"),
                Ok(Err(e)) => error!("rotation task died: {e}"),
                Err(_) => warn!(
                    outcome = "abandoned",
                    "the rotation did not finish within {}s of the stop request; exiting anyway (the next run completes it)",
                    STOP_DEADLINE.as_secs()
                ),
            }
        }
        stop_refill(&mut self.refill).await;
        if let Err(e) = self.scheduler.shutdown().await {
            warn!("stopping the scheduler: {e}");
        }
    }
}

/// Arms a cron job that only sends a tick (dropped if one is pending).
async fn add_job(
    scheduler: &JobScheduler,
    schedule: &Schedule,
    tx: &mpsc::Sender<()>,
) -> Result<Uuid> {
    let tx = tx.clone();
    let job = Job::new_async_tz(schedule.expr(), Local, move |_, _| {
        let _ = tx.try_send(());
        Box::pin(async {})
    })
    .with_context(|| format!("scheduling {:?}", schedule.expr()))?;
    scheduler
        .add(job)
        .await
        .with_context(|| format!("scheduling {:?}", schedule.expr()))
}

/// When the last rotation succeeded, from the state file: a failed run
/// is not a run done, so catch-up retries it.
fn last_run(settings: &Settings) -> Option<chrono::DateTime<Local>> {
    match crate::sys::state::read(&settings.state_dir) {
        Ok(Some(s)) if s.last_success > 0 => Local.timestamp_opt(s.last_success as i64, 0).single(),
        Ok(_) => None,
        Err(e) => {
            warn!("{e:#}; treating the last run as unknown");
            None
        }
    }
}

fn idle_status(schedule: &Schedule, due: bool) -> String {
    if due {
        return "rotation due (catch-up or jitter delay)".into();
    }
    match schedule.next_after(&Local::now()) {
        Some(t) => format!("idle; next rotation {}", t.format("%Y-%m-%d %H:%M:%S %Z")),
        None => "idle; the schedule has no future run".into(),
    }
}

fn start_refill(refill: Option<&Refill>) -> Option<tokio::process::Child> {
    let refill = refill?;
    match tokio::process::Command::from(refill.command()).spawn() {
        Ok(child) => {
            refill.log_spawn(Ok(child.id().unwrap_or(0)));
            Some(child)
        }
        Err(e) => {
            refill.log_spawn(Err(e));
            None
        }
    }
}

/// SIGTERM to the refill (it cancels its search and removes its temp
/// files), then waits; SIGKILL if it has not gone within 5 s.
async fn stop_refill(refill: &mut Option<tokio::process::Child>) {
    let Some(mut child) = refill.take() else {
        return;
    };
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            warn!("the pool refill ignored SIGTERM; killing it");
            let _ = child.kill().await;
        }
    }
}

fn notify(states: &[NotifyState]) {
    // NOTIFY_SOCKET stays set: the daemon reports again at every run.
    if let Err(e) = sd_notify::notify(false, states) {
        warn!("telling systemd: {e}");
    }
}
