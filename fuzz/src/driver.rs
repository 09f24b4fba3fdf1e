//! The mutation loop (in the worker process) and its supervisor.
//!
//! 1. The supervisor (`edgewaf-fuzz run`) maps a shared page ([`Shared`]) and
//!    starts itself again as a worker on it.
//! 2. The worker loads the seeds, then until the deadline: picks a corpus
//!    entry (or random bytes), mutates it, writes it to the shared page, runs
//!    the target under `catch_unwind`, counts the execution. A panic saves the
//!    input and the message under the crash folder; the loop goes on. An input
//!    whose outcome feature is new joins the corpus.
//! 3. The supervisor polls the page. A worker that dies (stack overflow,
//!    abort) or stops counting for `--timeout` seconds (a hang; it is killed)
//!    gets the input it was running saved as a crash, and a new worker takes
//!    over for the time left.
//! 4. At the deadline it prints `fuzz: target=… seconds=… executions=…
//!    crashes=…` and exits 1 if anything crashed.

use crate::corpus::Corpus;
use crate::mutate::mutate;
use crate::shm::{MAX_INPUT, Shared};
use crate::targets::Target;
use fastrand::Rng;
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most inputs the in-memory corpus keeps.
const MAX_CORPUS: usize = 20_000;

/// When the loop stops.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// After this many executions.
    Iterations(u64),
    /// At this instant.
    Until(Instant),
}

/// What a loop did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Inputs run.
    pub execs: u64,
    /// Inputs that panicked.
    pub crashes: u64,
    /// Corpus size at the end.
    pub corpus: usize,
}

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Replaces the panic hook with one that keeps the message (with its
/// location) for the crash report instead of printing it.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("{info}");
        LAST_PANIC.with(|m| *m.borrow_mut() = msg);
    }));
}

/// Runs `target` once on `input`; `Err` holds the panic message.
pub fn run_one(target: &Target, input: &[u8]) -> Result<u64, String> {
    std::panic::catch_unwind(|| (target.run)(input))
        .map_err(|_| LAST_PANIC.with(|m| m.borrow().clone()))
}

/// The target's seeds, deduplicated and cut to [`MAX_INPUT`]; never empty.
pub fn seeds(target: &Target, corpus: &Corpus) -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = (target.seeds)(corpus);
    s.extend(corpus.raw.iter().cloned());
    for x in &mut s {
        x.truncate(MAX_INPUT);
    }
    s.sort();
    s.dedup();
    if s.is_empty() {
        s.push(Vec::new());
    }
    s
}

/// The mutation loop. `shared` (if any) sees every input before it runs;
/// `on_crash` gets each panicking input and its message.
pub fn fuzz_loop(
    target: &Target,
    corpus: &Corpus,
    seed: u64,
    limit: Limit,
    shared: Option<&Shared>,
    mut on_crash: impl FnMut(&[u8], &str),
) -> Stats {
    (target.setup)(corpus);
    let mut rng = Rng::with_seed(seed);
    let mut pool = seeds(target, corpus);
    let fixed = pool.len();
    let mut seen = HashSet::new();
    let mut stats = Stats::default();
    let mut input = Vec::new();
    // The seeds run first, unchanged.
    let mut next_seed = 0;
    loop {
        let done = match limit {
            Limit::Iterations(n) => stats.execs >= n,
            Limit::Until(t) => Instant::now() >= t,
        };
        if done {
            break;
        }
        input.clear();
        if next_seed < fixed {
            input.extend_from_slice(&pool[next_seed]);
            next_seed += 1;
        } else if rng.u8(..64) == 0 {
            input.extend((0..rng.usize(..256)).map(|_| rng.u8(..)));
        } else {
            input.extend_from_slice(&pool[rng.usize(..pool.len())]);
            mutate(&mut rng, &mut input, &pool, target.dict);
        }
        if let Some(s) = shared {
            s.set_input(&input);
        }
        let outcome = run_one(target, &input);
        stats.execs += 1;
        if let Some(s) = shared {
            s.add_exec();
        }
        match outcome {
            Ok(f) if seen.insert(f) && next_seed >= fixed => {
                if pool.len() < MAX_CORPUS {
                    pool.push(input.clone());
                } else {
                    let i = rng.usize(fixed.min(pool.len() - 1)..pool.len());
                    pool[i] = input.clone();
                }
            }
            Ok(_) => {}
            Err(msg) => {
                stats.crashes += 1;
                if let Some(s) = shared {
                    s.add_crash();
                }
                on_crash(&input, &msg);
            }
        }
    }
    stats.corpus = pool.len();
    stats
}

/// Saves a crashing input as `dir/<kind>-<hash>` with `<kind>-<hash>.txt`
/// beside it holding the reason; returns the input's path.
pub fn save_crash(dir: &Path, kind: &str, input: &[u8], reason: &str) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let name = format!("{kind}-{:016x}", crate::targets::feature(input));
    let path = dir.join(&name);
    let _ = std::fs::write(&path, input);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), reason);
    eprintln!("CRASH saved to {}: {}", path.display(), first_line(reason));
    path
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// How the supervisor runs one target.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Wall time in seconds.
    pub seconds: u64,
    /// The random seed of the first worker (the next ones add 1).
    pub seed: u64,
    /// The `--corpus` folder.
    pub corpus: Option<PathBuf>,
    /// Where crashes go (a folder per target is made under it).
    pub crashes: PathBuf,
    /// Seconds without an execution before the worker counts as hung.
    pub timeout: u64,
}

/// The supervisor's totals.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Executions over all workers.
    pub execs: u64,
    /// Panics, aborts and hangs.
    pub crashes: u64,
    /// Workers started.
    pub workers: u32,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `target` under supervision for `opts.seconds`.
pub fn supervise(target: &Target, opts: &RunOptions) -> std::io::Result<RunSummary> {
    let dir = opts.crashes.join(target.name);
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(opts.seconds);
    let mut sum = RunSummary::default();
    let mut next_report = started + Duration::from_secs(60);
    while Instant::now() + Duration::from_millis(500) < deadline {
        let shm_path = dir.join(format!(".shared-{}", std::process::id()));
        let shared = Shared::open(&shm_path, true)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let mut child = worker_command(target, opts, &shm_path, left, sum.workers).spawn()?;
        sum.workers += 1;
        let (mut last_execs, mut last_change) = (0, Instant::now());
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            std::thread::sleep(Duration::from_millis(200));
            let execs = shared.execs();
            if execs != last_execs {
                (last_execs, last_change) = (execs, Instant::now());
            }
            // Startup (seed loading, the first run) gets a minute.
            let grace = if execs == 0 { 60 } else { opts.timeout };
            if last_change.elapsed() > Duration::from_secs(grace) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(60);
                eprintln!(
                    "[{}] {:>4}s executions={} crashes={}",
                    target.name,
                    started.elapsed().as_secs(),
                    sum.execs + execs,
                    sum.crashes + shared.crashes()
                );
            }
        };
        sum.execs += shared.execs();
        sum.crashes += shared.crashes();
        match status {
            Some(s) if s.success() || s.code() == Some(1) => {}
            Some(s) => {
                let reason = format!("worker died: {s} (stack overflow, abort or signal)");
                save_crash(&dir, "abort", &shared.input(), &reason);
                sum.crashes += 1;
            }
            None => {
                let reason = format!("hang: no execution finished in {} s", opts.timeout);
                save_crash(&dir, "hang", &shared.input(), &reason);
                sum.crashes += 1;
            }
        }
        drop(shared);
        let _ = std::fs::remove_file(&shm_path);
    }
    sum.elapsed = started.elapsed();
    Ok(sum)
}

fn worker_command(
    target: &Target,
    opts: &RunOptions,
    shm: &Path,
    left: Duration,
    n: u32,
) -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "edgewaf-fuzz".into());
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("worker")
        .arg(target.name)
        .arg("--shared")
        .arg(shm)
        .arg("--millis")
        .arg(left.as_millis().to_string())
        .arg("--seed")
        .arg(opts.seed.wrapping_add(u64::from(n)).to_string())
        .arg("--crashes")
        .arg(&opts.crashes)
        .stdin(std::process::Stdio::null());
    if let Some(c) = &opts.corpus {
        cmd.arg("--corpus").arg(c);
    }
    cmd
}

/// The worker: the loop until `millis` have passed, on the shared page.
pub fn worker(
    target: &Target,
    corpus: &Corpus,
    shared: &Shared,
    seed: u64,
    millis: u64,
    crashes: &Path,
) -> Stats {
    quiet_panics();
    let dir = crashes.join(target.name);
    let until = Instant::now() + Duration::from_millis(millis);
    fuzz_loop(
        target,
        corpus,
        seed,
        Limit::Until(until),
        Some(shared),
        |input, msg| {
            save_crash(&dir, "panic", input, msg);
        },
    )
}
