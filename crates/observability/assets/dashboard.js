// Live loader dashboard: polls <page>/data every second and draws canvas line charts.
// No dependencies, no build step. Every chart canvas carries data-points (how many samples
// it drew) and data-last (the newest value) so tests and curious humans can read them.
"use strict";

const DATA_URL = location.pathname.replace(/\/+$/, "") + "/data";
const COLORS = {
  limit: "#f2a33a", inflight: "#4fb3ff", throughput: "#5fd08a", p99: "#e56b8c", queued: "#b28cff",
};

let points = [];          // HistoryPoint[], oldest first
let lastSeq = null;       // newest seq received
let capacity = 300;
let intervalMs = 1000;
const charts = new Map(); // id -> { canvas, caption, series }

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.appendChild(child);
  return node;
}

// A chart: `series` is [{ name, color, value: point => number | undefined }].
function chart(container, id, title, series) {
  if (charts.has(id)) return charts.get(id);
  const caption = el("figcaption", {}, [el("span", { text: title })]);
  for (const s of series) {
    caption.appendChild(el("span", { class: "key", style: `color:${s.color}`, text: s.name }));
  }
  const canvas = el("canvas", { id, "data-points": "0", "data-last": "" });
  container.appendChild(el("figure", {}, [caption, canvas]));
  const entry = { canvas, series };
  charts.set(id, entry);
  return entry;
}

// A round axis maximum at or above `v`, and a tick count that gives round steps.
function niceScale(v) {
  if (!(v > 0)) return { max: 1, ticks: 4 };
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const [m, ticks] of [[1, 5], [2, 4], [2.5, 5], [5, 5], [10, 5]]) {
    if (v <= m * exp) return { max: m * exp, ticks };
  }
  return { max: 10 * exp, ticks: 5 };
}

function fmt(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return "–";
  if (Math.abs(v) >= 1000) return parseFloat((v / 1000).toFixed(v >= 10000 ? 0 : 1)) + "k";
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(1);
}

function draw(entry) {
  const { canvas, series } = entry;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300, h = canvas.clientHeight || 130;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const pad = { l: 42, r: 8, t: 6, b: 18 };
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;

  const values = series.map(s => points.map(p => [p.t_ms, s.value(p)])
    .filter(([, v]) => typeof v === "number" && Number.isFinite(v)));
  const tNow = points.length ? points[points.length - 1].t_ms : Date.now();
  // Show the whole history, but at least 30 samples' worth so a young page is not a smear.
  const dataSpan = points.length ? tNow - points[0].t_ms : 0;
  const span = Math.min(capacity * intervalMs, Math.max(30 * intervalMs, dataSpan));
  const tMin = tNow - span;
  const scale = niceScale(Math.max(0, ...values.flat().map(([, v]) => v)) * 1.05);
  const yMax = scale.max;
  const x = t => pad.l + ((t - tMin) / span) * pw;
  const y = v => pad.t + ph - (v / yMax) * ph;

  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#2a3640";
  ctx.fillStyle = "#8a99a6";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= scale.ticks; i++) {
    const v = (yMax * i) / scale.ticks, yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.l, yy); ctx.lineTo(w - pad.r, yy); ctx.stroke();
    ctx.fillText(fmt(v), pad.l - 5, yy);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const steps = [1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000];
  const stepMs = steps.find(st => span / st <= 6) || 300000;
  for (let back = 0; back <= span; back += stepMs) {
    const xx = x(tNow - back);
    if (xx < pad.l + 10) break;
    ctx.textAlign = back === 0 ? "right" : "center";
    const label = back === 0 ? "now" : back >= 60000 ? `-${back / 60000}m` : `-${back / 1000}s`;
    ctx.fillText(label, xx, h - pad.b + 4);
  }

  series.forEach((s, i) => {
    const pts = values[i].filter(([t]) => t >= tMin);
    if (!pts.length) return;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.8;
    ctx.beginPath();
    pts.forEach(([t, v], j) => (j ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.stroke();
    if (pts.length === 1) { ctx.fillStyle = s.color; ctx.fillRect(x(pts[0][0]) - 2, y(pts[0][1]) - 2, 4, 4); }
  });

  canvas.dataset.points = String(values[0] ? values[0].length : 0);
  const last = values[0] && values[0].length ? values[0][values[0].length - 1][1] : null;
  canvas.dataset.last = last === null ? "" : String(last);
}

function ensureEngineCharts() {
  const box = document.getElementById("engine-charts");
  chart(box, "engine-concurrency", "concurrency", [
    { name: "limit", color: COLORS.limit, value: p => p.limit },
    { name: "in flight", color: COLORS.inflight, value: p => p.in_flight },
  ]);
  chart(box, "engine-throughput", "loads / s", [
    { name: "loads/s", color: COLORS.throughput, value: p => p.loads_per_s },
  ]);
  chart(box, "engine-p99", "batch latency p99 (ms)", [
    { name: "p99", color: COLORS.p99, value: p => p.p99_ms },
  ]);
  chart(box, "engine-queued", "queued loads", [
    { name: "queued", color: COLORS.queued, value: p => p.queued },
  ]);
}

function slug(name) {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_");
}

function ensureGroupCharts(name) {
  const id = "group-" + slug(name);
  let section = document.getElementById(id);
  if (!section) {
    const box = el("div", { class: "charts" });
    section = el("section", { class: "panel group", id, "data-group": name }, [
      el("h2", { text: name }), box,
    ]);
    document.getElementById("groups").appendChild(section);
    const g = p => (p.groups || {})[name];
    chart(box, id + "-concurrency", "in flight vs limit", [
      { name: "in flight", color: COLORS.inflight, value: p => g(p) && g(p).in_flight },
      { name: "limit", color: COLORS.limit, value: p => g(p) && p.limit },
    ]);
    chart(box, id + "-throughput", "loads / s", [
      { name: "loads/s", color: COLORS.throughput, value: p => g(p) && g(p).loads_per_s },
    ]);
    chart(box, id + "-p99", "batch latency p99 (ms)", [
      { name: "p99", color: COLORS.p99, value: p => g(p) && g(p).p99_ms },
    ]);
  }
}

function renderLimitChanges(history) {
  const body = document.getElementById("limit-changes");
  // Periodic points say "steady" and carry a mean limit; the others are changes.
  const changes = [];
  let prev = null;
  for (const h of history || []) {
    if (h.reason === "steady") continue;
    changes.push({ ...h, old: prev });
    prev = h.limit;
  }
  const recent = changes.slice(-15).reverse();
  body.dataset.count = String(recent.length);
  body.replaceChildren();
  if (!recent.length) {
    body.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "muted", text: "none yet" })]));
    return;
  }
  for (const c of recent) {
    const dir = c.old === null ? "" : c.limit > c.old ? "up" : "down";
    body.appendChild(el("tr", { class: "limit-change" }, [
      el("td", { class: "num", text: `t=${c.t_s.toFixed(1)}s` }),
      el("td", { class: dir, text: c.old === null ? `→ ${c.limit}` : `${c.old} → ${c.limit}` }),
      el("td", { class: "num", text: `${fmt(c.throughput)}/s` }),
      el("td", { text: c.reason || "" }),
    ]));
  }
}

function renderHeader(snapshot) {
  const set = (id, v) => { document.getElementById(id).textContent = v; };
  set("strategy", snapshot.strategy);
  set("limit", String(snapshot.limit));
  set("inflight", String(snapshot.in_flight));
  set("queued", String(snapshot.queued));
  set("throughput", fmt(snapshot.total.loads_per_s));
  set("p99", fmt(snapshot.total.latency_ms.p99) + " ms");
}

let polling = false;

async function tick() {
  if (polling) return; // the previous poll is still waiting: never fetch the same points twice
  polling = true;
  const status = document.getElementById("status");
  try {
    const url = lastSeq === null ? DATA_URL : `${DATA_URL}?since=${lastSeq}`;
    const res = await fetch(url, { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    capacity = data.capacity;
    intervalMs = data.interval_ms;
    if (data.points.length) {
      points = points.concat(data.points).slice(-capacity);
      lastSeq = points[points.length - 1].seq;
    }
    ensureEngineCharts();
    const names = new Set(Object.keys(data.snapshot.groups));
    for (const p of points) for (const n of Object.keys(p.groups || {})) names.add(n);
    [...names].sort().forEach(ensureGroupCharts);
    renderHeader(data.snapshot);
    renderLimitChanges(data.snapshot.limit_history);
    for (const entry of charts.values()) draw(entry);
    document.body.dataset.points = String(points.length);
    document.body.dataset.groups = String(names.size);
    status.className = "muted";
    status.textContent = `live · ${points.length} samples · ${names.size} groups · ${new Date(data.t_ms).toLocaleTimeString()}`;
  } catch (err) {
    status.className = "error";
    status.textContent = `disconnected (${err.message}); retrying`;
  } finally {
    polling = false;
  }
}

tick();
setInterval(tick, 1000);
window.addEventListener("resize", () => { for (const entry of charts.values()) draw(entry); });
