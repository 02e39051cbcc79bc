// hybridrisk monitor dashboard: plain JS and inline SVG, no external resources.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = (path) => path + (token ? (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : "");
const NS = "http://www.w3.org/2000/svg";
const state = { limits: [], rows: [], alerts: [] };
const MAX_ROWS = 2000;
const COLORS = ["#2e86de", "#c0392b", "#27ae60", "#8e44ad", "#e08e0b", "#16a085", "#7f8c8d"];

function fmt(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
  const a = Math.abs(x);
  if (digits !== undefined) return x.toFixed(digits);
  if (a >= 1e6) return (x / 1e6).toFixed(2) + "m";
  if (a >= 1e3) return (x / 1e3).toFixed(1) + "k";
  return x.toFixed(a < 1 ? 3 : 1);
}
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function limitOf(metric) {
  const l = state.limits.find((x) => x.metric === metric);
  return l ? l.limit : null;
}

// A line chart of several series over the assessments; flat lines for limits.
function lineChart(id, series, hlines) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const W = svg.clientWidth || 400, H = svg.clientHeight || 180, L = 48, R = 8, T = 14, B = 18;
  const n = Math.max(...series.map((s) => s.values.length), 2);
  const vals = series.flatMap((s) => s.values).concat(hlines.map((h) => h.value)).filter((v) => v !== null && Number.isFinite(v));
  if (!vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi === lo) { hi += 1; lo -= 1; }
  const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  const x = (i) => L + (W - L - R) * i / (n - 1), y = (v) => T + (H - T - B) * (hi - v) / (hi - lo);
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef" }));
    svg.appendChild(el("text", { x: 2, y: y(v) + 3, class: "axis" }, fmt(v)));
  }
  const times = state.rows.map((r) => r.time.slice(0, 10));
  if (times.length) {
    svg.appendChild(el("text", { x: L, y: H - 4, class: "axis" }, times[0]));
    svg.appendChild(el("text", { x: W - R - 60, y: H - 4, class: "axis" }, times[times.length - 1]));
  }
  hlines.forEach((h) => {
    if (h.value === null) return;
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(h.value), y2: y(h.value), stroke: h.color, "stroke-dasharray": "5 3" }));
  });
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
    svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: s.color || COLORS[k], "stroke-width": 1.5 }));
    svg.appendChild(el("text", { x: L + 4 + 110 * k, y: 10, class: "legend", fill: s.color || COLORS[k] }, s.name));
  });
}

// Horizontal bars of a {name: value} map, largest magnitude first.
function bars(id, map, top) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const items = Object.entries(map || {}).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, top || 10);
  if (!items.length) return;
  const W = svg.clientWidth || 400, H = svg.clientHeight || 200, L = 90, R = 50;
  const m = Math.max(...items.map((i) => Math.abs(i[1])), 1e-12);
  const mid = L + (W - L - R) / 2, half = (W - L - R) / 2, h = Math.min(18, (H - 4) / items.length);
  items.forEach(([name, v], i) => {
    const w = half * Math.abs(v) / m, yy = 2 + i * h;
    svg.appendChild(el("rect", { x: v >= 0 ? mid : mid - w, y: yy, width: w, height: h - 3, fill: v >= 0 ? "#2e86de" : "#e08e0b" }));
    svg.appendChild(el("text", { x: 2, y: yy + h - 6, class: "axis" }, name));
    svg.appendChild(el("text", { x: W - R + 4, y: yy + h - 6, class: "axis" }, fmt(v)));
  });
}

function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren();
  const tr = document.createElement("tr");
  head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); });
  t.appendChild(tr);
  rows.forEach((r) => {
    const row = document.createElement("tr");
    r.forEach((c) => { const td = document.createElement("td"); td.textContent = c; row.appendChild(td); });
    t.appendChild(row);
  });
}

function cards(m) {
  const box = document.getElementById("summary");
  box.replaceChildren();
  const stale = new Set(m.stale || []);
  const items = [
    ["Value", m.value, "revaluation"], ["VaR 95", m.var_95, "var"], ["VaR 99", m.var_99, "var", "var_99"],
    ["ES 95", m.es_95, "var", "es_95"], ["LVaR 99", m.lvar_99, "liquidity", "lvar_99"],
    ["Volatility", m.volatility, "volatility"], ["Largest share", m.largest_position_share, "concentration"],
    ["Herfindahl", m.herfindahl, "concentration"], ["Liquidity score", m.liquidity_score, "liquidity"],
    ["Max days to liquidate", m.max_days_to_liquidate, "liquidity"], ["Regime", m.regime, "regime"],
    ["Latency ms", m.latency_ms, ""],
  ];
  for (const [k, v, comp, metric] of items) {
    const d = document.createElement("div");
    const isStale = [...stale].some((s) => s === comp || s.startsWith(comp + ":"));
    const lim = metric ? limitOf(metric) : null;
    d.className = "card" + (isStale ? " stale" : "") + (lim !== null && v >= lim ? " over" : "");
    d.innerHTML = `<div class="k"></div><div class="v"></div>`;
    d.querySelector(".k").textContent = k + (isStale ? " (stale)" : "");
    d.querySelector(".v").textContent = typeof v === "string" ? v : fmt(v);
    box.appendChild(d);
  }
}

function render() {
  const rows = state.rows;
  if (!rows.length) return;
  const m = rows[rows.length - 1];
  document.getElementById("clock").textContent = "market time " + m.time.slice(0, 10);
  cards(m);
  lineChart("chart-var", [
    { name: "VaR 99", values: rows.map((r) => r.var_99), color: COLORS[0] },
    { name: "ES 95", values: rows.map((r) => r.es_95), color: COLORS[1] },
  ], [{ value: limitOf("var_99"), color: COLORS[0] }, { value: limitOf("es_95"), color: COLORS[1] }]);
  let cum = 0;
  lineChart("chart-pnl", [{ name: "P&L", values: rows.map((r) => (cum += r.pnl || 0)), color: COLORS[2] }], []);
  lineChart("chart-regime", [{ name: "P(turbulent)", values: rows.map((r) => (r.regime_probabilities || {}).turbulent ?? null), color: COLORS[3] }],
    [{ value: limitOf("regime_probabilities.turbulent"), color: COLORS[3] }]);
  document.getElementById("regime-now").textContent = Object.entries(m.regime_probabilities || {}).map(([k, v]) => `${k} ${fmt(v, 3)}`).join("  ");
  bars("bars-position", m.contributions, 10);
  bars("bars-sector", m.sector_contributions, 8);
  lineChart("chart-liquidity", [{ name: "liquidity score", values: rows.map((r) => r.liquidity_score), color: COLORS[4] }], []);
  table("liquidity", ["position", "days to liquidate"], Object.entries(m.days_to_liquidate || {}).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => [k, fmt(v, 2)]));
  const rule = m.var_rule || {};
  const ruleRows = [];
  if (rule.scale != null) {
    const b = rule.base_values || {};
    ruleRows.push([`before scaling (${(rule.rule || "").replace(/^regime_scaled\((.*)\)$/, "$1")})`, fmt(b.var_95), fmt(b.var_99), fmt(b.es_95)]);
    ruleRows.push([`regime scale ${fmt(rule.scale, 4)}`, "", "", ""]);
  }
  ruleRows.push([`headline: ${m.headline || ""}`, fmt(m.var_95), fmt(m.var_99), fmt(m.es_95)]);
  table("methods", ["method", "VaR 95", "VaR 99", "ES 95"], Object.entries(m.var_methods || {}).map(([k, v]) => [k, fmt(v.var_95), fmt(v.var_99), fmt(v.es_95)]).concat(ruleRows));
  table("stress", ["scenario", "P&L"], Object.entries(m.stress || {}).map(([k, v]) => [k, fmt(v)]));
}

function addAlert(a) {
  const ul = document.getElementById("alerts");
  const li = document.createElement("li");
  li.className = "alert sev-" + a.severity;
  li.dataset.kind = a.kind; li.dataset.source = a.source; li.dataset.severity = a.severity; li.dataset.state = a.state;
  li.textContent = `${a.time.slice(0, 10)} ${a.severity.toUpperCase()} ${a.kind}/${a.source}${a.key ? "[" + a.key + "]" : ""}: ${a.message}`;
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > 500) ul.removeChild(ul.lastChild);
}

let pending = false;
function schedule() { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); } }

async function start() {
  const resp = await fetch(q("api/state"));
  const s = await resp.json();
  state.limits = s.limits; state.rows = s.assessments; s.alerts.forEach(addAlert);
  schedule();
  const src = new EventSource(q("events"));
  src.onopen = () => { const c = document.getElementById("conn"); c.textContent = "live"; c.className = "ok"; };
  src.onerror = () => { const c = document.getElementById("conn"); c.textContent = "reconnecting"; c.className = "bad"; };
  src.addEventListener("metrics", (e) => {
    state.rows.push(JSON.parse(e.data).metrics);
    if (state.rows.length > MAX_ROWS) state.rows.shift();
    schedule();
  });
  src.addEventListener("alert", (e) => addAlert(JSON.parse(e.data).alert));
}
start();
