//! Fingerprints the code that decides what a fixed limit's run does (the engine without its
//! scaling strategies, and the simulator), so that the oracle cache of `loader-sim eval`
//! is dropped when that code changes and kept when only a strategy changes.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// FNV-1a, stable across builds and toolchains.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            files(&entry.path(), out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

/// `text` without its inline unit-test modules: from a top-level `#[cfg(test)]` line
/// followed by `mod tests {` to the module's closing `}` at the start of a line (where
/// rustfmt puts it). Tests do not move a fixed limit's figures.
fn without_tests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "#[cfg(test)]" && lines.peek() == Some(&"mod tests {") {
            for inner in lines.by_ref() {
                if inner == "}" {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `text` without its comment lines (`//`, `///`, `//!`): documentation does not move a
/// fixed limit's figures. A comment after code on the same line stays.
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect()
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let core = manifest.join("../loader-core");
    let inputs = [
        core.join("src"),
        core.join("Cargo.toml"),
        manifest.join("../../Cargo.lock"),
        manifest.join("src/backend"),
        manifest.join("src/oracle"),
        manifest.join("src/analysis.rs"),
        manifest.join("src/digest.rs"),
        manifest.join("src/load.rs"),
        manifest.join("src/phase.rs"),
        manifest.join("src/recorder.rs"),
        manifest.join("src/run.rs"),
        manifest.join("src/scenario.rs"),
        manifest.join("src/schedule.rs"),
    ];
    let strategies = core.join("src/limit");
    let mut all = Vec::new();
    for input in &inputs {
        println!("cargo:rerun-if-changed={}", input.display());
        files(input, &mut all);
    }
    // The strategies do not move a fixed limit's figures; the fixed one does.
    all.retain(|p| !p.starts_with(&strategies) || p.ends_with("fixed.rs"));
    all.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for path in &all {
        let rel = path.strip_prefix(&manifest).unwrap_or(path);
        hash = fnv(hash, rel.to_string_lossy().as_bytes());
        // whitespace, comment lines and unit tests aside, so that reformatting, a reworded
        // doc comment or a new test keeps the cache
        let text: Vec<u8> = without_comments(&without_tests(
            &fs::read_to_string(path).unwrap_or_default(),
        ))
        .into_bytes()
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
        hash = fnv(hash, &text);
    }
    println!("cargo:rustc-env=LOADER_SIM_ENGINE_FINGERPRINT={hash:016x}");
}
