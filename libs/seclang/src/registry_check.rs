//! The check every registry with a folder of vector files shares (tests
//! only): operators (`testdata/operators`) and transformations
//! (`testdata/transformations`) each keep one `<name>.json` per entry of
//! their table, and aliases share their target's file.

use std::collections::BTreeSet;
use std::path::Path;

/// Asserts that every name in `names` has `dir/<name>.json`, that every
/// `.json` file in `dir` names an entry, and that every alias points at an
/// entry; `kind` names the registry in the messages.
pub(crate) fn assert_vector_files<'a>(
    kind: &str,
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
    aliases: &[(&str, &str)],
) {
    let files: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let names: BTreeSet<String> = names.into_iter().map(str::to_string).collect();
    let missing: Vec<_> = names.difference(&files).collect();
    let extra: Vec<_> = files.difference(&names).collect();
    assert!(
        missing.is_empty(),
        "{kind} without {}/<name>.json: {missing:?}",
        dir.display()
    );
    assert!(
        extra.is_empty(),
        "vector files naming no {kind} entry (aliases share their target's file): {extra:?}"
    );
    for (alias, target) in aliases {
        assert!(
            names.contains(*target),
            "alias {alias} points at unknown {target}"
        );
    }
}
