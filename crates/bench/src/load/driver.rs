//! [`run`]: the closed loop. `clients` tasks each send a request, wait for its answer,
//! record it and send the next, until the warm-up and the measured time have passed.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};
use rand::{SeedableRng, rngs::StdRng};
use tokio::time::Instant;

use super::{
    LoadConfig, LoadReport, MAX_RETRY_WAIT, Outcome, Recorder, RunFacts,
    outcome::{TransportKind, retry_after_header, retry_after_hint},
};
use crate::BenchError;

/// Runs a closed-loop load and reports it.
///
/// Every client finishes the request it has in flight when time is up, so `issued ==
/// completed` in the report.
pub async fn run(config: LoadConfig) -> Result<LoadReport, BenchError> {
    if config.clients == 0 {
        return Err(BenchError::InvalidConfig(
            "--clients must be at least 1".into(),
        ));
    }
    if config.duration.is_zero() {
        return Err(BenchError::InvalidConfig(
            "--duration must be positive".into(),
        ));
    }
    reqwest::Url::parse(&config.url)
        .map_err(|e| BenchError::InvalidConfig(format!("--url {}: {e}", config.url)))?;
    config.mix.validate()?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(config.clients)
        .timeout(config.timeout)
        .tcp_nodelay(true)
        .build()?;
    let config = Arc::new(config);
    let recorder = Arc::new(Mutex::new(Recorder::new(config.warmup)));
    let start = Instant::now();
    let measured_from = start + config.warmup;
    let end = measured_from + config.duration;

    let progress = config.progress.then(|| progress_bar(&config));
    let ticker = progress.clone().map(|bar| {
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last = (start, 0u64);
            loop {
                tick.tick().await;
                let now = Instant::now();
                let (_, finished) = recorder.lock().expect("recorder lock").progress();
                let dt = now.duration_since(last.0).as_secs_f64();
                if dt >= 1.0 {
                    let rps = (finished - last.1) as f64 / dt;
                    bar.set_message(format!("{rps:.0} req/s, {finished} done"));
                    last = (now, finished);
                }
                bar.set_position(
                    now.duration_since(start)
                        .as_secs()
                        .min(bar.length().unwrap_or(0)),
                );
            }
        })
    });

    let mut tasks = tokio::task::JoinSet::new();
    for client_index in 0..config.clients {
        let (client, config, recorder) = (client.clone(), config.clone(), recorder.clone());
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(client_index as u64));
            while Instant::now() < end {
                let (_, body) = config.mix.pick(&mut rng);
                recorder.lock().expect("recorder lock").issued();
                let sent = Instant::now();
                let (outcome, retry_after) =
                    send(&client, &config.url, config.bearer_token.as_deref(), &body).await;
                let finished = Instant::now();
                recorder.lock().expect("recorder lock").record(
                    finished.duration_since(start),
                    finished.duration_since(sent),
                    &outcome,
                );
                if config.honor_retry_after
                    && let Some(wait) = retry_after
                {
                    let until = (finished + wait.min(MAX_RETRY_WAIT)).min(end);
                    tokio::time::sleep_until(until).await;
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let measured_elapsed = Instant::now().saturating_duration_since(measured_from);
    if let Some(ticker) = ticker {
        ticker.abort();
        // Wait for the abort, so the ticker's handle on the recorder is gone.
        let _ = ticker.await;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let recorder = Arc::into_inner(recorder)
        .expect("every client task has finished")
        .into_inner()
        .expect("recorder lock");
    Ok(recorder.finish(RunFacts {
        url: config.url.clone(),
        clients: config.clients,
        warmup: config.warmup,
        duration: config.duration,
        measured_elapsed,
    }))
}

/// Sends one request and classifies what came back, with the server's retry hint when it
/// asked the client to come back later: `extensions.retryAfterMs` of the body, else the
/// `Retry-After` header.
async fn send(
    client: &reqwest::Client,
    url: &str,
    bearer_token: Option<&str>,
    body: &serde_json::Value,
) -> (Outcome, Option<Duration>) {
    let mut request = client
        .post(url)
        .header(
            reqwest::header::ACCEPT,
            "application/graphql-response+json, application/json",
        )
        .json(body);
    if let Some(token) = bearer_token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await;
    let response = match response {
        Ok(response) => response,
        Err(e) => return (transport_failure(&e), None),
    };
    let status = response.status().as_u16();
    let header = retry_after_header(
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
    );
    match response.bytes().await {
        Ok(bytes) => {
            let outcome = Outcome::from_response(status, &bytes);
            let hint = outcome
                .asks_to_retry_later()
                .then(|| retry_after_hint(&bytes).or(header))
                .flatten();
            (outcome, hint)
        }
        Err(e) => (transport_failure(&e), None),
    }
}

fn transport_failure(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Timeout
    } else if e.is_connect() {
        Outcome::Transport(TransportKind::Connect)
    } else {
        Outcome::Transport(TransportKind::Request)
    }
}

fn progress_bar(config: &LoadConfig) -> ProgressBar {
    let total = (config.warmup + config.duration).as_secs();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{} clients [{{bar:30}}] {{pos}}/{{len}} s  {{msg}}",
            config.clients
        ))
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}
