// learnloop admin dashboard: plain JS, no dependencies. Charts are inline SVG drawn here; each
// chart's <svg> carries data-* attributes (series, points, total) so tests can check what it drew.
"use strict";

const KEY_STORAGE = "learnloop.adminKey";
const PALETTE = ["#3b6fd8", "#e07b39", "#1e8e5a", "#9b59b6", "#c0392b", "#16a2b8", "#b8860b",
  "#7f8c8d"];
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
  }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const response = await fetch(path, { headers: { Authorization: `Bearer ${key}` } });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// --- small DOM and SVG helpers -----------------------------------------------------------------

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function title(node, text) {
  const t = svg("title");
  t.textContent = text;
  node.append(t);
  return node;
}

function empty(container, message) {
  container.replaceChildren(el("p", { class: "empty", text: message }));
}

function legend(names) {
  return el("div", { class: "legend" },
    names.map((name, i) => el("span", { class: `c${i % PALETTE.length}`, text: name })));
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

// For counts: a maximum whose four gridlines fall on whole numbers.
function countMax(value) {
  return Math.max(4, Math.ceil(niceMax(value) / 4) * 4);
}

// A frame with a y axis from 0 to max; returns the svg and a y(value) mapping.
function frame(width, height, max, { left = 36, bottom = 22, top = 8, format = String } = {}) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const plot = height - top - bottom;
  const y = (v) => top + plot - (v / max) * plot;
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    root.append(svg("line", { x1: left, x2: width, y1: y(v), y2: y(v), stroke: "#eef0f4" }));
    const label = svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" });
    label.textContent = format(v);
    root.append(label);
  }
  return { root, y, left, top, bottom, plot, width, height };
}

// --- charts ------------------------------------------------------------------------------------

function drawEvents(container, stats) {
  const days = stats.days.filter((d) => d.stats && d.stats.events_by_type);
  const types = Object.keys(stats.totals.events_by_type);
  const total = types.reduce((s, t) => s + stats.totals.events_by_type[t], 0);
  if (!days.length || !total) return empty(container, "No rolled-up events in this range yet.");
  const perDay = days.map((d) => types.reduce((s, t) => s + (d.stats.events_by_type[t] || 0), 0));
  const f = frame(720, 240, countMax(Math.max(...perDay)));
  const band = (f.width - f.left) / days.length;
  const bar = Math.min(48, band * 0.7);
  const chart = f.root;
  Object.assign(chart.dataset, {
    chart: "events-per-day", series: types.length, points: days.length, total,
  });
  days.forEach((day, i) => {
    let base = 0;
    const x = f.left + i * band + (band - bar) / 2;
    types.forEach((type, j) => {
      const value = day.stats.events_by_type[type] || 0;
      if (!value) return;
      const rect = svg("rect", {
        x, width: bar, y: f.y(base + value), height: f.y(base) - f.y(base + value),
        fill: PALETTE[j % PALETTE.length], "data-date": day.date, "data-type": type,
        "data-value": value, class: "bar",
      });
      chart.append(title(rect, `${day.date} · ${type}: ${value}`));
      base += value;
    });
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      const label = svg("text", { x: x + bar / 2, y: f.height - 6, "text-anchor": "middle" });
      label.textContent = day.date.slice(5);
      chart.append(label);
    }
  });
  container.replaceChildren(chart, legend(types));
}

// Flagged rows (bursts, identical instants, duplicate content) are stored but count nowhere.
function drawDataQuality(container, stats) {
  const q = stats.totals.data_quality;
  container.dataset.flagged = String(q ? q.flagged_rows : 0);
  if (!q || !q.rows) return empty(container, "No rolled-up rows in this range yet.");
  const reasons = Object.entries(q.by_reason).map(([reason, n]) => `${reason} ${n}`).join(", ");
  const rows = [
    ["Rows (reactions and events)", q.rows],
    ["Completeness (rows that count)", percent(q.completeness)],
    ["Flagged rows", q.flagged_rows],
    ["Duplicate-content rows", q.duplicates],
    ["Flagged users (user-days)", q.flagged_user_days],
    ["Reasons", reasons || "none"],
  ].map(([name, value]) => el("tr", {}, [el("th", { text: name }), el("td", { text: String(value) })]));
  container.replaceChildren(el("table", {}, [el("tbody", {}, rows)]));
}

function drawReactions(container, stats) {
  const byType = stats.totals.reactions_by_content_type;
  const types = Object.keys(byType);
  const values = ["like", "dislike"];
  const total = types.reduce((s, t) => s + values.reduce((a, v) => a + (byType[t][v] || 0), 0), 0);
  if (!total) return empty(container, "No rolled-up reactions in this range yet.");
  const f = frame(360, 220,
    countMax(Math.max(...types.flatMap((t) => values.map((v) => byType[t][v] || 0)))));
  const band = (f.width - f.left) / types.length;
  const bar = Math.min(28, (band * 0.8) / values.length);
  const chart = f.root;
  Object.assign(chart.dataset, { chart: "reactions-by-content-type", series: values.length,
    points: types.length, total });
  types.forEach((type, i) => {
    const start = f.left + i * band + (band - bar * values.length) / 2;
    values.forEach((value, j) => {
      const n = byType[type][value] || 0;
      const rect = svg("rect", {
        x: start + j * bar, width: bar - 2, y: f.y(n), height: f.y(0) - f.y(n),
        fill: j === 0 ? PALETTE[2] : PALETTE[4], "data-type": type, "data-reaction": value,
        "data-value": n, class: "bar",
      });
      chart.append(title(rect, `${type} · ${value}: ${n}`));
    });
    const label = svg("text", { x: f.left + i * band + band / 2, y: f.height - 6,
      "text-anchor": "middle" });
    label.textContent = type;
    chart.append(label);
  });
  const key = el("div", { class: "legend" }, [
    el("span", { class: "c2", text: "like" }), el("span", { class: "c4", text: "dislike" }),
  ]);
  container.replaceChildren(chart, key);
}

function drawContentArms(container, scope) {
  const arms = scope.arms;
  if (!arms.length) return empty(container, "No content arms yet: `learn` has not counted outcomes.");
  const rowHeight = 26;
  const width = 360;
  const left = 110;
  const height = arms.length * rowHeight + 24;
  const max = niceMax(Math.max(...arms.map((a) => a.ci_high)));
  const x = (v) => left + (v / max) * (width - left - 24);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  Object.assign(chart.dataset, { chart: "content-arms", series: 1, points: arms.length,
    total: arms.reduce((s, a) => s + a.pulls, 0) });
  arms.forEach((arm, i) => {
    const cy = i * rowHeight + rowHeight / 2;
    const name = svg("text", { x: left - 6, y: cy + 4, "text-anchor": "end" });
    name.textContent = arm.arm;
    chart.append(name);
    chart.append(svg("line", { x1: x(arm.ci_low), x2: x(arm.ci_high), y1: cy, y2: cy,
      stroke: PALETTE[0], "stroke-width": 2 }));
    const dot = svg("circle", { cx: x(arm.mean), cy, r: 5, fill: PALETTE[0], class: "arm",
      "data-arm": arm.arm, "data-mean": arm.mean, "data-alpha": arm.alpha, "data-beta": arm.beta });
    chart.append(title(dot, `${arm.arm}: Beta(${arm.alpha}, ${arm.beta}), mean ${arm.mean.toFixed(3)}, `
      + `95% [${arm.ci_low.toFixed(3)}, ${arm.ci_high.toFixed(3)}]`));
  });
  for (let i = 0; i <= 4; i += 1) {
    const label = svg("text", { x: x((max * i) / 4), y: height - 4, "text-anchor": "middle" });
    label.textContent = ((max * i) / 4).toFixed(2);
    chart.append(label);
  }
  container.replaceChildren(chart, el("p", { class: "muted",
    text: "Dot: posterior mean success rate; line: 95% interval." }));
}

function drawTimingArms(container, scope) {
  const arms = scope.arms.filter((a) => a.mean_reward !== null);
  if (!arms.length) return empty(container, "No posting-hour arms yet.");
  const f = frame(360, 220, Math.max(...arms.map((a) => a.mean_reward)) * 1.15 || 1,
    { format: (v) => v.toFixed(3), left: 42 });
  const band = (f.width - f.left) / 24;
  const chart = f.root;
  Object.assign(chart.dataset, { chart: "timing-arms", series: 1, points: arms.length,
    total: arms.reduce((s, a) => s + a.pulls, 0) });
  for (const arm of arms) {
    const hour = Number(arm.arm);
    const rect = svg("rect", { x: f.left + hour * band + 1, width: band - 2, y: f.y(arm.mean_reward),
      height: f.y(0) - f.y(arm.mean_reward), fill: PALETTE[1], class: "bar", "data-arm": arm.arm,
      "data-value": arm.mean_reward, "data-pulls": arm.pulls });
    chart.append(title(rect, `${arm.arm}:00 UTC · mean ${arm.mean_reward} over ${arm.pulls} posts`));
  }
  for (let h = 0; h < 24; h += 3) {
    const label = svg("text", { x: f.left + h * band + band / 2, y: f.height - 6,
      "text-anchor": "middle" });
    label.textContent = `${h}h`;
    chart.append(label);
  }
  container.replaceChildren(chart, el("p", { class: "muted", text: "Mean engagement rate per UTC hour." }));
}

function metricText(metrics) {
  if (!metrics) return "";
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(" · ");
}

function drawModels(container, body) {
  const names = Object.keys(body.models || {});
  container.dataset.models = String(names.length);
  if (!names.length) return empty(container, "No models registered yet.");
  const blocks = names.map((name) => {
    const info = body.models[name];
    const versions = info.versions || [];
    const rows = versions.map((v) => el("tr", { "data-version": v.version }, [
      el("td", { text: v.version }),
      el("td", {}, [el("span", { class: `badge ${v.status || ""}`, text: v.status || "" })]),
      el("td", { text: metricText(v.metrics) }),
    ]));
    const history = (info.history || []).map((h) => el("li", {
      text: `${h.at || ""} ${h.action || ""} ${h.from || "none"} → ${h.to || ""}`
        + `${h.actor ? ` by ${h.actor}` : ""}${h.reason ? `: ${h.reason}` : ""}`,
    }));
    return el("div", { class: "model", "data-model": name, "data-versions": versions.length }, [
      el("h3", { text: `${name} — production: ${info.production || "none"}` }),
      el("table", {}, [
        el("thead", {}, [el("tr", {}, ["version", "status", "metrics"].map((t) => el("th", { text: t })))]),
        el("tbody", {}, rows),
      ]),
      el("p", { class: "muted", text: "Production history" }),
      history.length ? el("ul", { class: "history" }, history) : el("p", { class: "empty", text: "none" }),
    ]);
  });
  container.replaceChildren(...blocks);
}

// Results read the events of each experiment's window, so they load on demand, one at a time.
function percent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)}%`;
}

function drawResults(container, body) {
  const results = body.results;
  if (!results.window) return empty(container, "Not started yet: no results.");
  const rows = results.variants.map((v) => el("tr", { "data-variant": v.variant }, [
    el("td", { text: v.variant }),
    el("td", { text: `${v.users_converted} / ${v.users_exposed}` }),
    el("td", { text: `${percent(v.conversion_rate)} (${percent(v.ci_low)}–${percent(v.ci_high)})` }),
    el("td", { text: v.difference === null ? "control" : `${v.difference > 0 ? "+" : ""}${percent(v.difference)}` }),
    el("td", { text: v.p_value === null ? "–" : v.p_value.toPrecision(2) }),
    el("td", { text: percent(v.prob_best) }),
  ]));
  container.replaceChildren(el("table", { class: "results" }, [
    el("thead", {}, [el("tr", {}, ["variant", "converted", "rate (95% CI)", "vs control", "p",
      "P(best)"].map((t) => el("th", { text: t })))]),
    el("tbody", {}, rows),
  ]), el("p", { class: "muted", text: `Goal: ${results.goal_event_type} · ${results.window.from} → ${results.window.to}` }),
  // A split unlike the weights means broken logging: say so before anyone reads the p-values.
  ...(results.sample_ratio && results.sample_ratio.mismatch ? [el("p", { class: "error srm",
    text: `Sample ratio mismatch (p = ${results.sample_ratio.p_value.toPrecision(2)}): exposures do not follow the weights; do not trust these differences.` })] : []));
}

function drawExperiments(container, body) {
  const experiments = body.experiments || [];
  container.dataset.experiments = String(experiments.length);
  if (!experiments.length) return empty(container, "No experiments yet.");
  const blocks = experiments.map((e) => {
    const results = el("div", { class: "experiment-results" });
    const button = el("button", { type: "button", text: "Show results" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        drawResults(results, await api(`/v1/admin/experiments/${encodeURIComponent(e.experiment_id)}`));
      } catch (error) {
        results.replaceChildren(el("p", { class: "error", text: `Could not load: ${error.message}` }));
      } finally {
        button.disabled = false;
      }
    });
    const split = e.variants.map((v) => `${v.name} ${percent(v.weight)}`).join(" · ");
    return el("div", { class: "experiment", "data-experiment": e.experiment_id }, [
      el("h3", {}, [el("span", { text: `${e.name} (${e.experiment_id}) ` }),
        el("span", { class: `badge ${e.status}`, text: e.status })]),
      el("p", { class: "muted", text: `${split} · goal ${e.goal_event_type}` }),
      button,
      results,
    ]);
  });
  container.replaceChildren(...blocks);
}

// Logged decisions joined with their feedback (GET /v1/admin/decisions/stats, at most 31 days).
function drawDecisions(container, body) {
  const groups = (body.totals && body.totals.by_policy) || [];
  container.dataset.policies = String(groups.length);
  if (!groups.length) return empty(container, "No decisions logged in this range.");
  const rows = groups.map((g) => el("tr", { "data-policy": g.policy }, [
    el("td", { text: g.surface }),
    el("td", { text: g.policy }),
    el("td", { text: g.policy_version || "–" }),
    el("td", { text: g.variant || "–" }),
    el("td", { text: String(g.decisions) }),
    el("td", { text: `${g.clicks} / ${g.impressions}` }),
    el("td", { class: "ctr", text: percent(g.ctr) }),
    el("td", { text: g.reward_mean === null ? "–" : g.reward_mean.toFixed(3) }),
  ]));
  const positions = ((body.totals && body.totals.by_position) || []).map((p) =>
    `${p.policy} #${p.position + 1}: ${percent(p.ctr)}`).join(" · ");
  container.replaceChildren(el("table", { class: "results" }, [
    el("thead", {}, [el("tr", {}, ["surface", "policy", "version", "variant", "decisions",
      "clicks / shown", "CTR", "mean reward"].map((t) => el("th", { text: t })))]),
    el("tbody", {}, rows),
  ]), el("p", { class: "muted", text: `CTR by position: ${positions || "–"} · ${body.from} → ${body.to}` }));
}

async function loadDecisions(container, stats) {
  // The decision stats read every decision of the range: at most the last 31 days of it.
  const to = new Date(`${stats.to}T00:00:00Z`);
  const earliest = new Date(to.getTime() - 30 * 86400000).toISOString().slice(0, 10);
  const from = stats.from > earliest ? stats.from : earliest;
  try {
    drawDecisions(container, await api(`/v1/admin/decisions/stats?from=${from}&to=${stats.to}`));
  } catch (error) {
    container.replaceChildren(el("p", { class: "error", text: `Could not load: ${error.message}` }));
  }
}

// --- trading journal: pattern × outcome heatmap, cohort retention curves ---------------------------

const OUTCOMES = ["win", "loss", "breakeven"];

function drawPatternHeatmap(container, body) {
  const patterns = (body.patterns || []).filter((p) => p.with_outcome > 0);
  if (!patterns.length) return empty(container, "No pattern with a known outcome in this range.");
  const rowHeight = 26;
  const left = 150;
  const cell = 90;
  const width = left + cell * OUTCOMES.length + 170;
  const height = 24 + rowHeight * patterns.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const total = patterns.reduce((s, p) => s + p.with_outcome, 0);
  Object.assign(chart.dataset, { chart: "pattern-outcomes", rows: patterns.length, total });
  OUTCOMES.forEach((outcome, j) => {
    const head = svg("text", { x: left + cell * j + cell / 2, y: 14, "text-anchor": "middle" });
    head.textContent = outcome;
    chart.append(head);
  });
  const rateHead = svg("text", { x: left + cell * OUTCOMES.length + 8, y: 14 });
  rateHead.textContent = "loss rate (95% CI) · mean P&L";
  chart.append(rateHead);
  patterns.forEach((p, i) => {
    const y = 20 + i * rowHeight;
    const label = svg("text", { x: left - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end" });
    label.textContent = p.pattern_type;
    chart.append(label);
    OUTCOMES.forEach((outcome, j) => {
      const count = p.outcomes[outcome] || 0;
      const share = count / p.with_outcome;
      // Colour by the share of the pattern's trades: red for losses, green for wins.
      const hue = outcome === "loss" ? "192,57,43" : outcome === "win" ? "30,142,90" : "127,140,141";
      const rect = svg("rect", {
        x: left + cell * j + 1, y: y + 1, width: cell - 2, height: rowHeight - 2,
        fill: `rgba(${hue},${(0.08 + 0.85 * share).toFixed(3)})`, class: "cell",
        "data-pattern": p.pattern_type, "data-outcome": outcome, "data-value": count,
      });
      chart.append(title(rect, `${p.pattern_type} → ${outcome}: ${count} of ${p.with_outcome}`));
      const text = svg("text", { x: left + cell * j + cell / 2, y: y + rowHeight / 2 + 4,
        "text-anchor": "middle" });
      text.textContent = String(count);
      chart.append(text);
    });
    const ci = p.loss_rate_interval;
    const rate = svg("text", { x: left + cell * OUTCOMES.length + 8, y: y + rowHeight / 2 + 4 });
    const pnl = p.mean_pnl === null ? "–" : p.mean_pnl.toFixed(2);
    rate.textContent = `${percent(p.loss_rate)}` +
      (ci ? ` (${percent(ci[0])}–${percent(ci[1])})` : "") + ` · ${pnl}`;
    chart.append(rate);
  });
  const base = body.baseline || {};
  container.replaceChildren(chart, el("p", { class: "muted",
    text: `Trades without a pattern: ${base.trades || 0}, loss rate ${percent(base.loss_rate)}.` }));
}

function drawRetention(container, body) {
  const cohorts = (body.retention || []).filter((c) => c.users > 0);
  if (!cohorts.length) return empty(container, "No new users in this range.");
  const weeks = Math.max(...cohorts.map((c) => c.retention.length));
  const f = frame(360, 220, 1, { format: (v) => `${Math.round(v * 100)}%` });
  const step = (f.width - f.left - 12) / Math.max(1, weeks - 1);
  const x = (k) => f.left + 6 + k * step;
  const chart = f.root;
  Object.assign(chart.dataset, { chart: "retention", series: cohorts.length, points: weeks });
  cohorts.forEach((c, i) => {
    const points = c.retention.map((r, k) => (r === null ? null : [x(k), f.y(r)]))
      .filter(Boolean);
    const colour = PALETTE[i % PALETTE.length];
    chart.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "),
      fill: "none", stroke: colour, "stroke-width": 2, "data-cohort": c.cohort }));
    c.retention.forEach((r, k) => {
      if (r === null) return;
      chart.append(title(svg("circle", { cx: x(k), cy: f.y(r), r: 3, fill: colour,
        "data-cohort": c.cohort, "data-week": k, "data-value": r }),
      `cohort ${c.cohort} (${c.users} users), week ${k}: ${percent(r)}`));
    });
  });
  for (let k = 0; k < weeks; k += 1) {
    const label = svg("text", { x: x(k), y: f.height - 6, "text-anchor": "middle" });
    label.textContent = `w${k}`;
    chart.append(label);
  }
  container.replaceChildren(chart, legend(cohorts.map((c) => `${c.cohort} (${c.users})`)));
}

async function loadJournal(stats) {
  // The journal routes read at most 92 days: the last 92 of the range.
  const to = new Date(`${stats.to}T00:00:00Z`);
  const earliest = new Date(to.getTime() - 91 * 86400000).toISOString().slice(0, 10);
  const from = stats.from > earliest ? stats.from : earliest;
  const query = `?from=${from}&to=${stats.to}`;
  const panels = [
    [$("pattern-heatmap"), `/v1/admin/journal/patterns${query}`, drawPatternHeatmap],
    [$("retention-chart"), `/v1/admin/journal/activity${query}`, drawRetention],
  ];
  await Promise.all(panels.map(async ([container, path, draw]) => {
    try {
      draw(container, await api(path));
    } catch (error) {
      container.replaceChildren(el("p", { class: "error", text: `Could not load: ${error.message}` }));
    }
  }));
}

function drawAlerts(container, body) {
  container.dataset.alerts = String(body.alerts.length);
  if (!body.checked_at) return empty(container, "No drift checks yet.");
  // A model the check could not judge is said so, not shown as "no drift".
  const skipped = Object.entries(body.skipped || {}).map(([model, reason]) =>
    el("li", { class: "muted", text: `${model}: not checked (${reason})` }));
  const alerts = body.alerts.map((a) => el("li", { class: "error",
    text: a.message || `${a.model || ""} ${a.feature || ""} ${a.metric || ""} = ${a.value}` }));
  const headline = body.alerts.length ? `Last check: ${body.checked_at}`
    : `No drift at the last check (${body.checked_at}).`;
  // What the checks did about their alerts, newest first: drift → retrained → promoted / kept.
  const actions = (body.actions || []).map((a) => el("li", {
    class: a.outcome === "promoted" ? "ok" : a.outcome === "rejected" ? "error" : "muted",
    "data-model": a.model, "data-action": a.action, "data-outcome": a.outcome || "",
    text: actionText(a) }));
  container.dataset.actions = String(actions.length);
  container.replaceChildren(el("p", { class: body.alerts.length ? "muted" : "empty", text: headline }),
    ...(alerts.length || skipped.length ? [el("ul", { class: "alerts" }, [...alerts, ...skipped])] : []),
    ...(actions.length ? [el("h3", { text: "Drift actions" }), el("ol", { class: "actions" }, actions)] : []));
}

function actionText(a) {
  const steps = [`${a.model}: drift`];
  const done = { retrained: "retrained", retrain_requested: "retrain requested" }[a.action];
  if (!done) return `${a.at} ${steps[0]} → ${a.action} (${a.reason})`;
  steps.push(done);
  if (a.outcome === "promoted") steps.push(`promoted v${a.version}`);
  else if (a.outcome === "kept") steps.push(`kept because ${a.outcome_reason || "production stayed"}`);
  else if (a.outcome === "rejected") steps.push(`rejected v${a.version}: ${a.outcome_reason || ""}`);
  else steps.push(`pending (${a.outcome_reason || a.reason})`);
  return `${a.at} ${steps.join(" → ")}`;
}

// Price, volume and flash-crash flags of stored candles (GET /v1/market/anomalies), newest first.
const ANOMALY_KINDS = { price: "price move", volume: "volume spike", flash_crash: "flash crash" };

function anomalyValue(a) {
  return a.kind === "volume" ? Number(a.value).toLocaleString("en") : percent(a.value);
}

function drawAnomalies(container, body) {
  container.dataset.anomalies = String(body.anomalies.length);
  if (!body.anomalies.length) return empty(container, `No anomalies from ${body.from} to ${body.to}.`);
  const head = el("tr", {}, ["Candle", "Symbol", "Interval", "Kind", "Robust z", "Value"].map(
    (text) => el("th", { text })));
  const rows = body.anomalies.map((a) => el("tr", {
    "data-symbol": a.symbol, "data-kind": a.kind, "data-open-time": a.open_time,
    class: a.kind === "flash_crash" ? "error" : "",
  }, [
    el("td", { text: a.open_time }), el("td", { text: a.symbol }), el("td", { text: a.interval }),
    el("td", { text: ANOMALY_KINDS[a.kind] || a.kind }), el("td", { text: a.score.toFixed(1) }),
    el("td", { text: anomalyValue(a) }),
  ]));
  const note = body.count > body.anomalies.length
    ? [el("p", { class: "muted", text: `Newest ${body.anomalies.length} of ${body.count}.` })] : [];
  container.replaceChildren(el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]), ...note);
}

async function loadAnomalies(container, stats) {
  try {
    drawAnomalies(container, await api(`/v1/market/anomalies?from=${stats.from}&to=${stats.to}`));
  } catch (error) {
    container.replaceChildren(el("p", { class: "error", text: `Could not load: ${error.message}` }));
  }
}

// --- text sentiment (GET /v1/sentiment/symbols/{symbol}) --------------------------------------

// The symbol route reads at most 92 days: the dashboard's range is clipped to its last 92.
function sentimentQuery(to, from) {
  const params = new URLSearchParams({ window: "day" });
  if (to) {
    params.set("to", to);
    const earliest = new Date(`${to}T00:00:00Z`);
    earliest.setUTCDate(earliest.getUTCDate() - 91);
    const clip = earliest.toISOString().slice(0, 10);
    if (from) params.set("from", from < clip ? clip : from);
  }
  return params.toString();
}

function drawSentiment(container, body) {
  const series = body.series;
  const summary = $("sentiment-summary");
  const score = body.score === null ? "no score" : `score ${body.score.toFixed(3)}`;
  const slope = body.trend.slope === null ? "" : `, trend ${body.trend.slope.toFixed(3)} / day`;
  summary.textContent = `${body.symbol}: ${body.volume} texts, ${score}${slope}`;
  if (!body.volume) return empty(container, `No texts about ${body.symbol} in this range yet.`);
  // Score on [-1, 1] (the frame's 0..2 shifted down by 1); volume bars on their own scale.
  const f = frame(720, 240, 2, { format: (v) => (v - 1).toFixed(1) });
  const chart = f.root;
  const most = countMax(Math.max(...series.map((w) => w.volume)));
  const band = (f.width - f.left) / series.length;
  const bar = Math.min(32, band * 0.7);
  Object.assign(chart.dataset, {
    chart: "symbol-sentiment", points: series.length, total: body.volume,
    scored: series.filter((w) => w.score !== null).length,
  });
  const zero = f.y(1);
  chart.append(svg("line", { x1: f.left, x2: f.width, y1: zero, y2: zero, stroke: "#b9bfcc" }));
  const points = [];
  series.forEach((w, i) => {
    const x = f.left + i * band + (band - bar) / 2;
    const day = w.start.slice(0, 10);
    if (w.volume) {
      const h = (w.volume / most) * f.plot;
      const rect = svg("rect", {
        x, width: bar, y: f.top + f.plot - h, height: h, fill: "#dde1ea", class: "bar",
        "data-date": day, "data-value": w.volume,
      });
      chart.append(title(rect, `${day} · ${w.volume} texts`));
    }
    if (w.score !== null) {
      const cx = x + bar / 2;
      const cy = f.y(w.score + 1);
      points.push(`${cx},${cy}`);
      const dot = svg("circle", {
        cx, cy, r: 3.5, fill: w.score >= 0 ? PALETTE[2] : PALETTE[4], class: "point",
        "data-date": day, "data-score": w.score,
      });
      const parts = Object.entries(w.sources).map(([s, v]) => `${s} ${v.mean} (${v.volume})`);
      chart.append(title(dot, `${day} · score ${w.score} · ${parts.join(", ")}`));
    }
    if (series.length <= 16 || i % Math.ceil(series.length / 16) === 0) {
      const label = svg("text", { x: x + bar / 2, y: f.height - 6, "text-anchor": "middle" });
      label.textContent = day.slice(5);
      chart.append(label);
    }
  });
  if (points.length > 1) {
    chart.append(svg("polyline", {
      points: points.join(" "), fill: "none", stroke: PALETTE[0], "stroke-width": 1.5,
    }));
  }
  const sources = Object.entries(body.sources)
    .map(([s, v]) => `${s}: ${v.volume} texts, weight ${(v.weight * 100).toFixed(0)} %`);
  container.replaceChildren(chart, el("p", { class: "muted", text: sources.join(" · ") }));
}

async function loadSentiment() {
  const container = $("sentiment-chart");
  const symbol = encodeURIComponent($("sentiment-symbol").value.trim() || "BTC");
  const query = sentimentQuery($("range-to").value, $("range-from").value);
  try {
    drawSentiment(container, await api(`/v1/sentiment/symbols/${symbol}?${query}`));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) throw error;
    $("sentiment-summary").textContent = "";
    empty(container, `Not a symbol: ${error.message}`);
  }
}

// --- page flow ---------------------------------------------------------------------------------

function showLogin(message) {
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message || "";
}

function rangeQuery() {
  const params = new URLSearchParams();
  if ($("range-from").value) params.set("from", $("range-from").value);
  if ($("range-to").value) params.set("to", $("range-to").value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function load() {
  $("status").textContent = "Loading…";
  document.body.dataset.state = "loading";
  try {
    const [stats, bandits, models, alerts, experiments] = await Promise.all([
      api(`/v1/admin/stats${rangeQuery()}`), api("/v1/admin/bandits"), api("/v1/models"),
      api("/v1/admin/alerts"), api("/v1/admin/experiments"),
    ]);
    $("login").hidden = true;
    $("dashboard").hidden = false;
    $("sign-out").hidden = false;
    $("range-from").value = stats.from;
    $("range-to").value = stats.to;
    drawEvents($("events-chart"), stats);
    drawReactions($("reactions-chart"), stats);
    drawDataQuality($("data-quality"), stats);
    drawContentArms($("content-arms-chart"), bandits.scopes.content);
    drawTimingArms($("timing-arms-chart"), bandits.scopes.timing);
    drawModels($("models"), models);
    drawAlerts($("alerts"), alerts);
    drawExperiments($("experiments"), experiments);
    await loadDecisions($("decisions"), stats);
    await loadAnomalies($("anomalies"), stats);
    await loadSentiment();
    await loadJournal(stats);
    $("status").textContent = `${stats.totals.days_with_stats} of ${stats.days.length} days rolled up`;
    document.body.dataset.state = "ready";
  } catch (error) {
    document.body.dataset.state = "error";
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      sessionStorage.removeItem(KEY_STORAGE);
      showLogin(error.status === 403 ? "That key has no admin scope." : "Unknown or revoked key.");
    } else {
      $("status").textContent = `Could not load: ${error.message}`;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("admin-key").value.trim());
    $("admin-key").value = "";
    load();
  });
  $("range").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("sentiment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadSentiment().catch((error) => { $("sentiment-summary").textContent = error.message; });
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    showLogin("");
  });
  if (sessionStorage.getItem(KEY_STORAGE)) load();
  else showLogin("");
});
