//! Every target runs 200 inputs from a fixed seed (built-in seeds only, no
//! CRS needed) without a crash, so the harness cannot rot; and the driver
//! really reports a crashing target.

use edgewaf_fuzz::corpus::Corpus;
use edgewaf_fuzz::driver::{Limit, fuzz_loop, quiet_panics};
use edgewaf_fuzz::targets::{self, Target};

#[test]
fn every_target_runs_200_inputs_without_a_crash() {
    quiet_panics();
    let corpus = Corpus::default();
    let mut failures = Vec::new();
    for t in targets::all() {
        let stats = fuzz_loop(t, &corpus, 1, Limit::Iterations(200), None, |input, msg| {
            failures.push(format!(
                "{}: {msg} (input {:?})",
                t.name,
                String::from_utf8_lossy(input)
            ));
        });
        assert_eq!(stats.execs, 200, "{}", t.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn panics_on_x(input: &[u8]) -> u64 {
    assert!(!input.contains(&b'X'), "found an X");
    input.len() as u64
}

fn seed_without_x(_: &Corpus) -> Vec<Vec<u8>> {
    vec![b"abc".to_vec()]
}

#[test]
fn a_panicking_target_is_reported_with_its_input() {
    quiet_panics();
    let t = Target {
        name: "panics-on-x",
        about: "test",
        run: panics_on_x,
        dict: &[b"X"],
        seeds: seed_without_x,
        setup: |_| {},
    };
    let mut seen = Vec::new();
    let stats = fuzz_loop(
        &t,
        &Corpus::default(),
        3,
        Limit::Iterations(2000),
        None,
        |input, msg| {
            seen.push((input.to_vec(), msg.to_string()));
        },
    );
    assert!(
        stats.crashes > 0,
        "the mutator never inserted an X in 2000 runs"
    );
    assert_eq!(stats.crashes as usize, seen.len());
    assert!(
        seen.iter()
            .all(|(i, m)| i.contains(&b'X') && m.contains("found an X"))
    );
}
