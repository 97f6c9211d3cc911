// Runs autocannon (pinned, installed next to this file by bench-e2e) against one GraphQL
// endpoint with one request body, and checks every response body: autocannon counts a
// response whose body is not byte-for-byte the expected complete answer as a mismatch, and
// this script sorts the mismatches it sees into partial answers (data plus errors) and the
// rest. autocannon does the load, the timing and the status counts; nothing here changes
// them. A 503 is a refusal, whatever its body.
//
//   node autocannon-check.js CONFIG.json
//
// CONFIG: {"url", "connections", "duration_s", "warmup_s", "timeout_s", "headers": {...},
//          "body": "<request JSON>", "expect_body": "<the complete answer, exact bytes>"}
// Prints one JSON object on standard output.
'use strict'

const fs = require('fs')
const path = require('path')
const autocannon = require('autocannon')

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const expected = config.expect_body
let partial = 0
let errorsWithoutData = 0

// With an empty expected body (the server's complete answers are not byte-stable), a
// body is complete when it parses with data and no errors.
function classify (body) {
  if (expected !== '' && body === expected) return true
  try {
    const json = JSON.parse(body)
    const hasData = json.data !== null && json.data !== undefined
    const hasErrors = Array.isArray(json.errors) && json.errors.length > 0
    if (expected === '' && hasData && !hasErrors) return true
    if (hasData && hasErrors) partial++
    else if (hasErrors) errorsWithoutData++
  } catch (_) {
    errorsWithoutData++
  }
  return false
}

const options = {
  url: config.url,
  connections: config.connections,
  duration: config.duration_s,
  timeout: config.timeout_s,
  method: 'POST',
  headers: config.headers,
  body: config.body,
  verifyBody: classify
}
if (config.warmup_s > 0) {
  options.warmup = {
    connections: config.connections,
    duration: config.warmup_s,
    // The warm-up checks bodies too, without counting them.
    verifyBody: (body) => expected === '' || body === expected
  }
}

autocannon(options, (err, result) => {
  if (err) {
    console.error(err)
    process.exit(1)
  }
  const version = JSON.parse(
    fs.readFileSync(path.join(path.dirname(require.resolve('autocannon')), 'package.json'), 'utf8')
  ).version
  const statuses = {}
  for (const [code, stats] of Object.entries(result.statusCodeStats || {})) {
    statuses[code] = stats.count
  }
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  console.log(JSON.stringify({
    autocannon_version: version,
    duration_s: result.duration,
    connections: result.connections,
    responses,
    mismatches: result.mismatches,
    complete: responses - result.mismatches,
    partial,
    errors_without_data: errorsWithoutData,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency_2xx_ms: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max
    }
  }))
})
