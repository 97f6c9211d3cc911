//! The Jaeger binary: `$JAEGER_BIN` when set, else built once with the machine's Go from the
//! Go module `github.com/jaegertracing/jaeger` at [`JAEGER_MODULE_VERSION`] and cached
//! outside the work tree.
//!
//! `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0` is refused by Go: the
//! module's `go.mod` has a `replace` directive, which `go install pkg@version` does not
//! allow. So the build takes the same source the same way: `go mod download` fetches the
//! module from the module proxy, and `go build ./cmd/jaeger` runs inside it as the main
//! module, with its `go.mod`, `go.sum` and `replace` as Jaeger's own release build uses them.
//!
//! Three steps, so that a missing Go or module proxy (a skip) is told apart from a broken
//! build (a failure):
//! 1. `go mod download -json github.com/jaegertracing/jaeger@v1.75.0` — the source;
//! 2. `go list -deps ./cmd/jaeger` in it — every module the binary needs;
//! 3. `go build -trimpath -o <cache>/jaeger ./cmd/jaeger` with `GOPROXY=off` — offline.
//!
//! Concurrent test processes take an exclusive lock on `<cache>/build.lock` around the build
//! and re-check for the binary once they hold it, so only the first one builds. The binary
//! is written under a temporary name and renamed into place, so a binary at the final path
//! is always complete.

use std::{
    fs::File,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
    time::Instant,
};

use super::JaegerError;

/// The module version built: Jaeger v2's `cmd/jaeger` as published on the Go module proxy.
pub const JAEGER_MODULE_VERSION: &str = "v1.75.0";

const MODULE: &str = "github.com/jaegertracing/jaeger";
const PACKAGE: &str = "./cmd/jaeger";

/// The path of a runnable Jaeger v2 binary, built on first use (see the module docs).
///
/// - `$JAEGER_BIN`, when set, is used as it is (it must exist).
/// - Otherwise `<cache>/jaeger`, where `<cache>` is `$JAEGER_CACHE_DIR`, else
///   `$XDG_CACHE_HOME/adaptive-graphql/jaeger-v1.75.0`, else
///   `$HOME/.cache/adaptive-graphql/jaeger-v1.75.0`; built there when missing, which takes a
///   few minutes once (Go's own build and module caches keep their defaults).
///
/// The outcome is kept for the life of the process.
///
/// # Errors
///
/// [`JaegerError::Unavailable`] without Go or without the module proxy;
/// [`JaegerError::Build`] when the build itself fails.
pub fn jaeger_binary() -> Result<PathBuf, JaegerError> {
    static BINARY: OnceLock<Result<PathBuf, JaegerError>> = OnceLock::new();
    BINARY.get_or_init(locate_or_build).clone()
}

fn locate_or_build() -> Result<PathBuf, JaegerError> {
    if let Some(path) = std::env::var_os("JAEGER_BIN").map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(JaegerError::Start {
                reason: format!("$JAEGER_BIN={} is not a file", path.display()),
                log: String::new(),
            })
        };
    }
    let dir = cache_dir()?;
    let binary = dir.join("jaeger");
    if binary.is_file() {
        return Ok(binary);
    }
    let go = find_go().ok_or_else(|| JaegerError::Unavailable {
        reason: "no `go` on PATH nor at /usr/local/go/bin/go; install Go (1.24 or newer) \
                 or set JAEGER_BIN to a Jaeger v2 binary"
            .to_owned(),
    })?;

    std::fs::create_dir_all(&dir)
        .map_err(|e| JaegerError::io(format!("creating {}", dir.display()), e))?;
    let lock_path = dir.join("build.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| JaegerError::io(format!("opening {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| JaegerError::io(format!("locking {}", lock_path.display()), e))?;
    // Another process may have built it while this one waited for the lock.
    if binary.is_file() {
        return Ok(binary);
    }
    build(&go, &binary)?;
    drop(lock);
    Ok(binary)
}

fn build(go: &Path, binary: &Path) -> Result<(), JaegerError> {
    let started = Instant::now();
    say(&format!(
        "Jaeger {JAEGER_MODULE_VERSION}: building {MODULE}/cmd/jaeger once with {} into {} \
         (a few minutes; later runs reuse it)",
        go.display(),
        binary.display()
    ));

    let module = format!("{MODULE}@{JAEGER_MODULE_VERSION}");
    let download = go_command(go, None)
        .args(["mod", "download", "-json", &module])
        .output()
        .map_err(|e| JaegerError::io(format!("running {}", go.display()), e))?;
    let source = source_dir(&download).ok_or_else(|| JaegerError::Unavailable {
        reason: format!(
            "the Go module proxy did not serve {module}: {}",
            describe(&download)
        ),
    })?;

    let deps = go_command(go, Some(&source))
        .args(["list", "-deps", PACKAGE])
        .output()
        .map_err(|e| JaegerError::io(format!("running {}", go.display()), e))?;
    if !deps.status.success() {
        return Err(JaegerError::Unavailable {
            reason: format!(
                "the Go module proxy did not serve every module {module} needs: {}",
                describe(&deps)
            ),
        });
    }

    let partial = binary.with_extension("partial");
    let mut command = go_command(go, Some(&source));
    command
        .env("GOPROXY", "off")
        .args(["build", "-trimpath", "-o"])
        .arg(&partial)
        .arg(PACKAGE);
    let line = format!("{command:?}");
    let built = command
        .output()
        .map_err(|e| JaegerError::io(format!("running {line}"), e))?;
    if !built.status.success() {
        return Err(JaegerError::Build {
            command: line,
            output: describe(&built),
        });
    }
    std::fs::rename(&partial, binary)
        .map_err(|e| JaegerError::io(format!("moving the build to {}", binary.display()), e))?;
    say(&format!(
        "Jaeger {JAEGER_MODULE_VERSION}: built in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// `go` with a predictable module mode: Jaeger's own `go.mod` and `go.sum`, read-only, no
/// workspace file of the caller's.
fn go_command(go: &Path, dir: Option<&Path>) -> Command {
    let mut command = Command::new(go);
    command.env("GOFLAGS", "-mod=readonly").env("GOWORK", "off");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
}

/// The `Dir` of `go mod download -json`'s answer, when it succeeded.
fn source_dir(download: &Output) -> Option<PathBuf> {
    if !download.status.success() {
        return None;
    }
    let info: serde_json::Value = serde_json::from_slice(&download.stdout).ok()?;
    if info.get("Error").is_some() {
        return None;
    }
    let dir = PathBuf::from(info.get("Dir")?.as_str()?);
    dir.join("go.mod").is_file().then_some(dir)
}

/// Exit status, the error `go mod download -json` reports in its JSON, and stderr.
fn describe(output: &Output) -> String {
    let json_error = serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .ok()
        .and_then(|v| v.get("Error").and_then(|e| e.as_str()).map(str::to_owned));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    // The tail is where Go says what failed; the head lists what it was downloading.
    let tail: String = stderr
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    match json_error {
        Some(error) => format!("{}: {error}\n{tail}", output.status),
        None => format!("{}\n{tail}", output.status),
    }
}

fn cache_dir() -> Result<PathBuf, JaegerError> {
    if let Some(dir) = std::env::var_os("JAEGER_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })
        .ok_or_else(|| JaegerError::Unavailable {
            reason: "neither HOME nor XDG_CACHE_HOME nor JAEGER_CACHE_DIR is set: \
                     nowhere to cache the Jaeger build"
                .to_owned(),
        })?;
    Ok(base
        .join("adaptive-graphql")
        .join(format!("jaeger-{JAEGER_MODULE_VERSION}")))
}

/// `go` on `PATH`, else the official installer's `/usr/local/go/bin/go`.
fn find_go() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("go"))
            .find(|go| go.is_file())
    });
    on_path.or_else(|| {
        let fallback = PathBuf::from("/usr/local/go/bin/go");
        fallback.is_file().then_some(fallback)
    })
}

/// A progress line straight to the terminal: the harness would hide it until the end, and a
/// test silent for minutes looks hung.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use std::{os::unix::process::ExitStatusExt as _, process::ExitStatus};

    use super::*;

    fn output(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_source_dir_comes_from_a_successful_download_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module x\n").unwrap();
        let json = serde_json::json!({ "Dir": dir.path() }).to_string();
        assert_eq!(
            source_dir(&output(0, &json, "")).as_deref(),
            Some(dir.path())
        );
        assert_eq!(source_dir(&output(1, &json, "")), None);
        let failed = serde_json::json!({ "Dir": dir.path(), "Error": "410 Gone" }).to_string();
        assert_eq!(source_dir(&output(0, &failed, "")), None);
        let missing = serde_json::json!({ "Dir": "/nonexistent/jaeger" }).to_string();
        assert_eq!(source_dir(&output(0, &missing, "")), None);
    }

    #[test]
    fn a_failure_is_described_by_go_s_own_error() {
        let text = describe(&output(
            1,
            r#"{"Path":"github.com/jaegertracing/jaeger","Error":"dial tcp: lookup the-proxy: no such host"}"#,
            "go: downloading x\ngo: fatal",
        ));
        assert!(text.contains("no such host"), "{text}");
        assert!(text.contains("go: fatal"), "{text}");
    }
}
