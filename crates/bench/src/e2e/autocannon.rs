//! The headline checked by a load generator nobody here wrote: autocannon (npm, pinned)
//! sends the heavy query from `--outside-clients` connections to each server of the final
//! table. A `200` with errors is not a success: autocannon compares every body with the
//! server's complete answer (fetched twice before, and byte-stable), and the small script
//! beside it (`autocannon-check.js`) sorts the mismatches into partial answers and the
//! rest. autocannon ignores `Retry-After`, so the project's own load generator runs next to
//! it, ignoring it too, on the same server.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Contender, Figures, node_tools::NodeTools};
use crate::load::Outcome;

/// The npm package.
pub const PACKAGE: &str = "autocannon";

/// The script that runs autocannon and sorts the bodies.
const SCRIPT: &str = include_str!("autocannon-check.js");
const SCRIPT_NAME: &str = "autocannon-check.js";

/// The request headers of both load generators.
pub const HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    (
        "accept",
        "application/graphql-response+json, application/json",
    ),
];

/// What autocannon reported, and what the script saw in the bodies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutocannonSummary {
    /// autocannon's version.
    pub autocannon_version: String,
    /// Measured seconds.
    pub duration_s: f64,
    /// Connections.
    pub connections: usize,
    /// Responses of any status.
    pub responses: u64,
    /// Responses whose body was not the complete answer.
    pub mismatches: u64,
    /// `responses - mismatches`: byte-for-byte the complete answer.
    pub complete: u64,
    /// Mismatched bodies with data and errors.
    pub partial: u64,
    /// Mismatched bodies with errors and no data (refusals among them), or not JSON.
    pub errors_without_data: u64,
    /// Responses per HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Responses with a status other than `2xx`.
    pub non2xx: u64,
    /// Connection errors and timeouts.
    pub errors: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// Latency percentiles of the `2xx` responses (partial ones included), ms.
    pub latency_2xx_ms: BTreeMap<String, f64>,
}

impl AutocannonSummary {
    fn rate(&self, n: u64) -> f64 {
        if self.duration_s > 0.0 {
            n as f64 / self.duration_s
        } else {
            0.0
        }
    }

    /// `503` responses.
    pub fn refused(&self) -> u64 {
        self.statuses.get("503").copied().unwrap_or(0)
    }

    /// The same columns as the other tables (latency: of `2xx` responses; no CPU).
    pub fn figures(&self) -> Figures {
        let other = self
            .mismatches
            .saturating_sub(self.partial + self.refused())
            + self.errors;
        Figures {
            complete_per_s: self.rate(self.complete),
            partial_per_s: self.rate(self.partial),
            refused_per_s: self.rate(self.refused()),
            other_errors_per_s: self.rate(other),
            p50_ms: self.latency_2xx_ms.get("p50").copied().unwrap_or(0.0),
            p99_ms: self.latency_2xx_ms.get("p99").copied().unwrap_or(0.0),
            server_cpu_ms: None,
            pg_cpu_ms: None,
        }
    }
}

/// One server checked by autocannon, and the project's load generator next to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutsideRun {
    /// The server.
    pub contender: Contender,
    /// Connections / clients.
    pub clients: usize,
    /// How to run the same check again (the server must be running at the URL).
    pub command: String,
    /// What autocannon saw; `None` if it failed (see `error`).
    pub autocannon: Option<AutocannonSummary>,
    /// Why autocannon did not run.
    pub error: Option<String>,
    /// The project's load generator on the same server right after, clients ignoring
    /// `Retry-After` as autocannon does.
    pub loadgen: Option<Figures>,
}

/// The complete answer of `body` from `url`: fetched twice, both complete and identical
/// (the exact bytes autocannon compares every response with); empty when the two complete
/// answers differ in their bytes: the script then parses each body instead.
pub async fn expected_body(url: &str, body: &Value) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    let mut last_failure = String::new();
    // Five tries for two complete answers: the server is idle, but may still warm up.
    for _ in 0..5 {
        let mut request = client.post(url).json(body);
        for (k, v) in HEADERS {
            request = request.header(k, v);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("no answer from {url}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let outcome = Outcome::from_response(status, &bytes);
        if outcome == Outcome::Ok {
            answers.push(String::from_utf8(bytes.to_vec()).context("the answer is not UTF-8")?);
            if answers.len() == 2 {
                break;
            }
        } else {
            last_failure = format!(
                "{outcome:?}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if answers.len() < 2 {
        bail!(
            "{url} did not answer the heavy query completely twice in five tries on an idle server ({last_failure})"
        );
    }
    if !answers[0].is_ascii() {
        // autocannon appends each TCP read to the body as a string: a character split
        // across two reads would not compare equal, and complete answers would count as
        // mismatches.
        bail!(
            "{url}'s complete answer holds non-ASCII characters, which autocannon's body check can split: it cannot be checked by equality"
        );
    }
    if answers[0] != answers[1] {
        // Two complete answers with different bytes (rows of equal sort keys in another
        // order): the script then checks each body by parsing it (data, no errors).
        eprintln!(
            "    {url}: two complete answers differ in their bytes; bodies are checked by parsing (data, no errors), not by equality"
        );
        return Ok(String::new());
    }
    Ok(answers.swap_remove(0))
}

/// Writes the script and `config` (`<dir>/<slug>.json`), runs autocannon through it and
/// returns its summary and the command line that ran.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    tools: &NodeTools,
    config_dir: &Path,
    slug: &str,
    url: &str,
    body: &Value,
    expected: &str,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    timeout: Duration,
) -> anyhow::Result<(AutocannonSummary, String)> {
    // Absolute: node runs in the tools' folder, where relative paths (`--out bench-out/x`)
    // would point elsewhere.
    let node_dir = std::path::absolute(&tools.dir)?;
    let script = node_dir.join(SCRIPT_NAME);
    std::fs::write(&script, SCRIPT)?;
    std::fs::create_dir_all(config_dir)?;
    let config_path = std::path::absolute(config_dir.join(format!("{slug}.json")))?;
    let headers: serde_json::Map<String, Value> = HEADERS
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let config = serde_json::json!({
        "url": url,
        "connections": clients,
        "duration_s": duration.as_secs().max(1),
        "warmup_s": warmup.as_secs(),
        "timeout_s": timeout.as_secs().max(1),
        "headers": headers,
        "body": body.to_string(),
        "expect_body": expected,
    });
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
    let command = format!("node {} {}", script.display(), config_path.display());
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&config_path)
        // `require('autocannon')` from the tools' node_modules.
        .current_dir(&node_dir)
        .env("NODE_PATH", node_dir.join("node_modules"))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("cannot run node")?;
    if !output.status.success() {
        bail!(
            "{command} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("autocannon printed no result")?;
    let summary: AutocannonSummary = serde_json::from_str(line)
        .with_context(|| format!("unexpected autocannon result: {line}"))?;
    Ok((summary, command))
}

/// The autocannon check as a Markdown table, autocannon's row next to the project's.
pub fn outside_markdown(runs: &[OutsideRun]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let version = runs
        .iter()
        .find_map(|r| r.autocannon.as_ref().map(|a| a.autocannon_version.clone()))
        .unwrap_or_default();
    let mut out = format!(
        "Heavy mix, {} connections, autocannon {version}: complete = byte-for-byte the server's complete answer; latency of `2xx` responses. \
         Next to it, this project's load generator on the same server, its clients ignoring `Retry-After` as autocannon does (latency of complete responses). \
         Command of the first row that ran: `{}`\n\n\
         | server | load generator | {} | mismatched bodies |\n|---|---|{}|---:|\n",
        first.clients,
        runs.iter()
            .map(|r| r.command.as_str())
            .find(|c| !c.is_empty())
            .unwrap_or("none ran"),
        Figures::HEADER.0,
        Figures::HEADER.1
    );
    for r in runs {
        match (&r.autocannon, &r.error) {
            (Some(a), _) => {
                let _ = writeln!(
                    out,
                    "| {} | autocannon | {} | {} |",
                    r.contender,
                    a.figures().cells(),
                    a.mismatches
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(
                    out,
                    "| {} | autocannon | failed: {} |||||||| |",
                    r.contender,
                    e.replace('|', "/")
                );
            }
            (None, None) => {}
        }
        if let Some(f) = &r.loadgen {
            let _ = writeln!(out, "| {} | loadgen | {} | - |", r.contender, f.cells());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::Mode;

    #[tokio::test]
    async fn runs_from_relative_tool_and_config_folders() {
        assert!(
            crate::e2e::node_tools::node_version().is_some(),
            "this test needs Node.js (.ci/run installs it)"
        );
        // A stand-in for the npm package: calls back with a fixed result. The folder is named
        // relative to the working directory, as `--out bench-out/e2e` names it.
        let root = tempfile::Builder::new()
            .prefix("autocannon-relative-")
            .tempdir_in(".")
            .unwrap();
        let stub = root.path().join("node/node_modules/autocannon");
        std::fs::create_dir_all(&stub).unwrap();
        std::fs::write(
            stub.join("package.json"),
            r#"{"name":"autocannon","version":"0.0.0-stub","main":"index.js"}"#,
        )
        .unwrap();
        std::fs::write(
            stub.join("index.js"),
            "module.exports = (o, cb) => cb(null, { duration: o.duration, connections: o.connections, \
             '1xx': 0, '2xx': 7, '3xx': 0, '4xx': 0, '5xx': 0, mismatches: 0, non2xx: 0, errors: 0, \
             timeouts: 0, statusCodeStats: { 200: { count: 7 } }, latency: { p50: 1, p90: 2, p99: 3, max: 4 } })\n",
        )
        .unwrap();
        let relative = std::path::PathBuf::from(root.path().file_name().unwrap());
        let tools = NodeTools {
            dir: relative.join("node"),
            node_version: String::new(),
        };
        let configs = relative.join("autocannon");
        assert!(tools.dir.is_relative() && configs.is_relative());
        let (summary, _) = run(
            &tools,
            &configs,
            "adaptive",
            "http://127.0.0.1:9/graphql",
            &serde_json::json!({ "query": "{ x }" }),
            "{}",
            2,
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .expect("node finds the script and the configuration");
        assert_eq!((summary.responses, summary.complete), (7, 7));
        assert_eq!(summary.autocannon_version, "0.0.0-stub");
    }

    fn summary() -> AutocannonSummary {
        serde_json::from_value(serde_json::json!({
            "autocannon_version": "9.0.0",
            "duration_s": 10.0,
            "connections": 64,
            "responses": 500,
            "mismatches": 300,
            "complete": 200,
            "partial": 90,
            "errors_without_data": 210,
            "statuses": {"200": 300, "503": 200},
            "non2xx": 200,
            "errors": 4,
            "timeouts": 4,
            "latency_2xx_ms": {"p50": 800.0, "p90": 1500.0, "p99": 2500.0, "max": 3000.0}
        }))
        .unwrap()
    }

    #[test]
    fn mismatches_split_into_partial_refused_and_other() {
        let f = summary().figures();
        assert_eq!(f.complete_per_s, 20.0);
        assert_eq!(f.partial_per_s, 9.0);
        assert_eq!(f.refused_per_s, 20.0);
        // 300 mismatched - 90 partial - 200 refused = 10 other answers, + 4 errors.
        assert!((f.other_errors_per_s - 1.4).abs() < 1e-9, "{f:?}");
        assert_eq!((f.p50_ms, f.p99_ms), (800.0, 2500.0));
    }

    #[test]
    fn the_table_puts_both_load_generators_side_by_side() {
        let run = OutsideRun {
            contender: Contender::ours(Mode::Adaptive, 32),
            clients: 64,
            command: "node x/autocannon-check.js y.json".into(),
            autocannon: Some(summary()),
            error: None,
            loadgen: Some(Figures {
                complete_per_s: 21.0,
                ..Figures::default()
            }),
        };
        let md = outside_markdown(&[run]);
        assert!(md.contains("autocannon 9.0.0"), "{md}");
        assert!(md.contains("| adaptive | autocannon | 20.0 | 9.0 | 20.0 | 1.4 | 800.0 | 2500.0 | n/a | n/a | 300 |"), "{md}");
        assert!(md.contains("| adaptive | loadgen | 21.0 |"), "{md}");
        assert!(md.contains("`node x/autocannon-check.js y.json`"), "{md}");
    }
}
