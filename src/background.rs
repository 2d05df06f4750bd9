//! The background thread: a runtime of one thread, at a lower scheduling priority than the
//! proxy threads, for bulk work that may wait — the sweeper (a mass expiry settles a million
//! tokens) and the delivery of its audit lines and hooks (docs/reference.md, "Expiry and
//! revocation").
//!
//! Why a priority and not only [`crate::pace`]: pacing keeps that work to a share of a core,
//! but on a small machine whose cores the proxy, its clients and the upstream already keep
//! busy, any share taken at the proxy's own priority is taken from the requests: the
//! scheduler splits a core evenly, and a request whose thread waits behind a sweep slice
//! waits that slice out. At nice +10 the kernel gives the background thread about a tenth of
//! what a proxy thread gets when both want a core (weights 110 against 1,024), and a proxy
//! thread that wakes up runs first; on an idle core the background work runs at full speed.
//!
//! Threads inherit the nice value of the thread that starts them, so the runtime's blocking
//! threads run at the same priority.
//!
//! Also here: [`every`], the loop of the periodic writers (snapshot, trial file).

use std::future::Future;
use std::io;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

/// How much lower than the process the background thread runs (a nice increment; the kernel
/// stops at 19).
pub(crate) const NICE_INCREMENT: i32 = 10;

/// The background runtime; dropping it stops its thread once the work spawned on it is done
/// or dropped.
pub(crate) struct Background {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts the thread `idlegate-background` with its runtime.
    pub(crate) fn start() -> io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("idlegate-background".into())
            .spawn(move || {
                lower_this_threads_priority(NICE_INCREMENT);
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Background {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `task` on the background thread.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }

    /// The runtime's handle, for code that spawns its own tasks on it.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Background {
    /// Stops the runtime. Joins the thread only outside a runtime: blocking a runtime's thread
    /// on another thread is what tokio forbids; there the thread ends on its own.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if Handle::try_current().is_err() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// Raises the calling thread's nice value by `increment`. On Linux the nice value belongs to
/// each thread: `setpriority(PRIO_PROCESS, 0, ..)` changes the calling thread alone. A
/// failure leaves the thread at the process's priority (it only costs latency under load).
#[cfg(target_os = "linux")]
fn lower_this_threads_priority(increment: i32) {
    use rustix::process::{getpriority_process, setpriority_process};
    let lowered = getpriority_process(None)
        .and_then(|now| setpriority_process(None, (now + increment).min(19)));
    if let Err(e) = lowered {
        tracing::debug!(error = %e, "background thread keeps the process's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority(_increment: i32) {}

/// Runs `job` every `interval`, the first time one interval from now, and once more when
/// `shutdown` resolves (a final write). A tick missed while the job ran late delays the next
/// one instead of firing at once.
pub(crate) async fn every<F, Job>(
    interval: Duration,
    shutdown: impl Future<Output = ()>,
    mut job: F,
) where
    F: FnMut() -> Job,
    Job: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticks.tick() => job().await,
            _ = &mut shutdown => break,
        }
    }
    job().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn every_runs_the_job_each_interval_then_once_more_at_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let counted = runs.clone();
        let task = tokio::spawn(every(
            Duration::from_secs(5),
            async {
                let _ = stopped.await;
            },
            move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            },
        ));
        tokio::time::sleep(Duration::from_millis(4_900)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "not at once");
        tokio::time::sleep(Duration::from_millis(12_000)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "at 5, 10 and 15 s");
        let _ = stop.send(());
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4, "and the final run");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_background_thread_runs_at_a_lower_priority_than_the_process() {
        let mine = rustix::process::getpriority_process(None).unwrap();
        let background = Background::start().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        background.spawn(async move {
            let _ = tx.send(rustix::process::getpriority_process(None).unwrap());
        });
        let theirs = rx.recv().unwrap();
        assert_eq!(theirs, (mine + NICE_INCREMENT).min(19));
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            mine,
            "the calling thread keeps its own"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn blocking_work_of_the_background_runtime_runs_at_its_priority() {
        let mine = rustix::process::getpriority_process(None).unwrap();
        let background = Background::start().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        background.spawn(async move {
            let nice =
                tokio::task::spawn_blocking(|| rustix::process::getpriority_process(None).unwrap())
                    .await
                    .unwrap();
            let _ = tx.send(nice);
        });
        assert_eq!(rx.recv().unwrap(), (mine + NICE_INCREMENT).min(19));
    }
}
