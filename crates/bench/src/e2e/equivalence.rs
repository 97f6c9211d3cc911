//! [`check`]: before a peer is timed, every query of a mix goes to this server and to the
//! peer with the same ids (a few draws of each query with random ids); both answers must be
//! complete and hold the same users, posts, comments and tags ([`compare_row_counts`]),
//! or the run stops: a peer that answers less would look faster for the wrong reason.

use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{OUR_NAMING, POSTGRAPHILE_NAMING, RowCounts, Workload, compare_row_counts, count_rows};
use crate::load::{Outcome, QueryMix};

/// Draws of each query that has random ids.
const DRAWS: u64 = 3;

/// One query, one draw: both answers' rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquivalenceCheck {
    /// The mix.
    pub workload: Workload,
    /// The query's name.
    pub query: String,
    /// The variables sent to both.
    pub variables: Value,
    /// Rows in this server's answer.
    pub ours: RowCounts,
    /// Rows in the peer's answer.
    pub theirs: RowCounts,
}

/// Tries of a query that did not come back complete, 1 s apart: the servers are idle here,
/// but one may still be warming up.
const TRIES: usize = 3;

/// The complete answer's `data`; after [`TRIES`] answers that were not complete, an error
/// with the last one.
async fn answer(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let mut last = None;
    for _ in 0..TRIES {
        match answer_once(client, url, body).await {
            Ok(data) => return Ok(data),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(last.expect("at least one try").context(format!(
        "{url} did not answer completely {TRIES} times on an idle server: its rows cannot be compared \
         (a debug build, or a REQUEST_TIMEOUT_MS too short for the query?)"
    )))
}

async fn answer_once(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let response = client
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(body)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    let outcome = Outcome::from_response(status, &bytes);
    if outcome != Outcome::Ok {
        bail!(
            "not complete ({outcome:?}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
        );
    }
    let json: Value = serde_json::from_slice(&bytes)?;
    Ok(json["data"].clone())
}

/// Sends each query of `ours` to `our_url` and its counterpart in `theirs` to `peer_url`
/// with the same variables, and compares the rows. Fails loudly on the first difference.
pub async fn check(
    workload: Workload,
    ours: &QueryMix,
    theirs: &QueryMix,
    our_url: &str,
    peer_url: &str,
) -> anyhow::Result<Vec<EquivalenceCheck>> {
    if ours.queries.len() != theirs.queries.len() {
        bail!(
            "the {workload} mix has {} queries here and {} for the peer",
            ours.queries.len(),
            theirs.queries.len()
        );
    }
    let client = reqwest::Client::new();
    let mut checks = Vec::new();
    for (index, query) in ours.queries.iter().enumerate() {
        let draws = if query.random_ids.is_empty() {
            1
        } else {
            DRAWS
        };
        for draw in 0..draws {
            let seed = 1_000 + draw;
            let our_body = ours.body(index, &mut StdRng::seed_from_u64(seed));
            let peer_body = theirs.body(index, &mut StdRng::seed_from_u64(seed));
            let our_rows = count_rows(&answer(&client, our_url, &our_body).await?, &OUR_NAMING);
            let peer_rows = count_rows(
                &answer(&client, peer_url, &peer_body).await?,
                &POSTGRAPHILE_NAMING,
            );
            compare_row_counts(&query.name, our_rows, peer_rows).with_context(|| {
                format!(
                    "the peer's answer is not the same work as this server's ({workload} mix, variables {}): \
                     its query is in crates/bench/src/e2e/workload.rs",
                    our_body["variables"]
                )
            })?;
            checks.push(EquivalenceCheck {
                workload,
                query: query.name.clone(),
                variables: our_body["variables"].clone(),
                ours: our_rows,
                theirs: peer_rows,
            });
        }
    }
    Ok(checks)
}

/// The checks as a Markdown table.
pub fn markdown(checks: &[EquivalenceCheck]) -> String {
    let mut out = String::from(
        "Checked before timing: every query of the mix, with the same ids, from both servers.\n\n\
         | mix | query | variables | rows in both answers |\n|---|---|---|---|\n",
    );
    for c in checks {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} |",
            c.workload, c.query, c.variables, c.ours
        );
    }
    out
}
