//! `edgewaf-fuzz`: list the targets, run one for a while, replay saved inputs.

use clap::{Parser, Subcommand};
use edgewaf_fuzz::corpus::Corpus;
use edgewaf_fuzz::driver::{self, RunOptions};
use edgewaf_fuzz::shm::Shared;
use edgewaf_fuzz::targets::{self, Target};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "edgewaf-fuzz",
    about = "Fuzz edgewaf's parsers (stable Rust, no instrumentation)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Lists the targets.
    List,
    /// Fuzzes one target for a while; exits 1 if anything crashed.
    Run {
        /// The target (see `list`).
        target: String,
        /// Wall time in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Random seed (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Seed folder: a CRS release (tests/*.yaml, rules/*.conf) or saved inputs.
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Where crashing inputs are saved (one folder per target).
        #[arg(long, default_value = "target/fuzz-crashes")]
        crashes: PathBuf,
        /// Seconds one input may run before it counts as a hang.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Runs saved inputs once each and reports which ones crash.
    Replay {
        /// The target.
        target: String,
        /// Input files.
        files: Vec<PathBuf>,
    },
    /// (internal) The worker process the supervisor starts.
    #[command(hide = true)]
    Worker {
        target: String,
        #[arg(long)]
        shared: PathBuf,
        #[arg(long)]
        millis: u64,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        crashes: PathBuf,
        #[arg(long)]
        corpus: Option<PathBuf>,
    },
}

fn target(name: &str) -> Result<&'static Target, String> {
    targets::find(name).ok_or_else(|| {
        let names: Vec<_> = targets::all().iter().map(|t| t.name).collect();
        format!("no target {name:?}; targets: {}", names.join(", "))
    })
}

fn load(corpus: Option<&PathBuf>) -> Corpus {
    corpus.map(|d| Corpus::load(d)).unwrap_or_default()
}

fn main() -> ExitCode {
    match run(Cli::parse().cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edgewaf-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Cmd) -> Result<ExitCode, String> {
    match cmd {
        Cmd::List => {
            for t in targets::all() {
                println!("{:<16} {}", t.name, t.about);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            target: name,
            seconds,
            seed,
            corpus,
            crashes,
            timeout,
        } => {
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
            let opts = RunOptions {
                seconds,
                seed,
                corpus,
                crashes,
                timeout,
            };
            run_target(target(&name)?, &opts)
        }
        Cmd::Replay {
            target: name,
            files,
        } => replay(target(&name)?, &files),
        Cmd::Worker {
            target: name,
            shared,
            millis,
            seed,
            crashes,
            corpus,
        } => {
            let t = target(&name)?;
            let shm = Shared::open(&shared, false).map_err(|e| e.to_string())?;
            let stats = driver::worker(t, &load(corpus.as_ref()), &shm, seed, millis, &crashes);
            Ok(exit_code(stats.crashes > 0))
        }
    }
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_target(t: &Target, opts: &RunOptions) -> Result<ExitCode, String> {
    if let Some(c) = &opts.corpus {
        let summary = Corpus::load(c).summary();
        eprintln!("[{}] corpus {}: {summary}", t.name, c.display());
    }
    eprintln!("[{}] {} s, seed {}", t.name, opts.seconds, opts.seed);
    let sum = driver::supervise(t, opts).map_err(|e| e.to_string())?;
    println!(
        "fuzz: target={} seconds={} executions={} crashes={} workers={}",
        t.name,
        sum.elapsed.as_secs(),
        sum.execs,
        sum.crashes,
        sum.workers
    );
    Ok(exit_code(sum.crashes > 0))
}

fn replay(t: &Target, files: &[PathBuf]) -> Result<ExitCode, String> {
    driver::quiet_panics();
    (t.setup)(&Corpus::default());
    let mut failed = 0;
    for f in files {
        let input = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        match driver::run_one(t, &input) {
            Ok(_) => println!("ok     {}", f.display()),
            Err(msg) => {
                failed += 1;
                println!("CRASH  {}: {msg}", f.display());
            }
        }
    }
    Ok(exit_code(failed > 0))
}
