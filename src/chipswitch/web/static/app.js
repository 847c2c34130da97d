// chipswitch dashboard: plain JS over the /api endpoints of the same server.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const DAY = 86400;
const VENDOR_COLORS = {
  nvidia: "#76b900", amd: "#ed1c24", google: "#4285f4", aws: "#ff9900", intel: "#0071c5",
  other: "#7f7f7f",
};
const TIME_TERMS = [
  ["compute_matmul", "matmul"], ["compute_attention", "attention"],
  ["compute_memory_bound", "memory-bound ops"], ["compute_head", "LM head + loss"],
  ["recompute", "recomputation"], ["layer_overhead", "per-layer overhead"],
  ["tp_exposed", "TP/SP comm (exposed)"], ["ep_total", "EP all-to-all"],
  ["cp_exposed", "CP ring (exposed)"], ["pp_total", "PP send/recv"],
  ["bubble", "pipeline bubble"], ["dp_exposed", "DP/ZeRO comm (exposed)"],
  ["optimizer", "optimizer step"],
];
const MEMORY_TERMS = [
  ["mem_weights", "weights"], ["mem_gradients", "gradients"], ["mem_optimizer", "optimizer states"],
  ["mem_activations", "activations (in flight)"], ["mem_logits", "logits"],
  ["mem_buffers", "buffers + framework"],
];
const PLOT_CONFIG = { displaylogo: false, responsive: true };
const state = { chips: [], models: [], offerings: [], limits: null, loaded: {} };

// -- formatting (display units at the edge; the API speaks SI) ------------------------------
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const DASH = "—";
function fixed(x, d) {
  if (!isNum(x)) return DASH;
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}
const int = (x) => fixed(x, 0);
const pct = (x, d = 1) => (isNum(x) ? `${(100 * x).toFixed(d)}%` : DASH);
const signedPct = (x, d = 1) => (isNum(x) ? `${x >= 0 ? "+" : ""}${(100 * x).toFixed(d)}%` : DASH);
const usd = (x) => (isNum(x) ? `$${int(x)}` : DASH);
function usdShort(x) {
  if (!isNum(x)) return DASH;
  const a = Math.abs(x), s = x < 0 ? "-" : "";
  if (a >= 1e12) return `${s}$${(a / 1e12).toFixed(2)}T`;
  if (a >= 1e9) return `${s}$${(a / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${s}$${(a / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${s}$${(a / 1e3).toFixed(1)}K`;
  return `${s}$${a.toFixed(0)}`;
}
function sci(x) {
  if (!isNum(x)) return DASH;
  return Math.abs(x) >= 1e6 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : fixed(x, 3);
}
function objective(obj, x) {
  if (obj === "compute") return isNum(x) ? `${x.toExponential(3)} FLOP` : DASH;
  return usdShort(x);
}
const range = (lo, hi, f) => (isNum(lo) && isNum(hi) ? `${f(lo)}–${f(hi)}` : DASH);

// -- DOM helpers -------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
// columns: [{label, key?, cls?, value(row) -> string}] ; rows: objects
function fillTable(table, columns, rows, rowClass) {
  table.replaceChildren();
  const head = el("tr");
  for (const c of columns) head.append(el("th", { class: c.cls || null, text: c.label }));
  const tbody = el("tbody");
  rows.forEach((r, i) => {
    const tr = el("tr", { class: rowClass ? rowClass(r) : null });
    for (const c of columns) {
      tr.append(el("td", { class: c.cls || null, "data-k": c.key || null, text: c.value(r, i) }));
    }
    tbody.append(tr);
  });
  table.append(el("thead", {}, head), tbody);
}
function setStatus(name, text, isError = false) {
  const s = $(`#${name}-status`);
  s.textContent = text;
  s.classList.toggle("error", isError);
}
async function api(path, options = {}) {
  const resp = await fetch(path, options);
  const type = resp.headers.get("content-type") || "";
  const body = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    let msg = `HTTP ${resp.status}`;
    if (body && typeof body === "object") {
      if (typeof body.detail === "string") msg = body.detail;
      else if (Array.isArray(body.detail)) {
        msg = body.detail.map((d) => `${(d.loc || []).slice(1).join(".") || "body"}: ${d.msg}`).join("; ");
      }
    }
    throw new Error(msg);
  }
  return body;
}
async function runForm(name, work) {
  const form = $(`#${name}-form`);
  const button = $("button[type=submit]", form);
  button.disabled = true;
  setStatus(name, "working…");
  const t0 = performance.now();
  try {
    await work();
    setStatus(name, `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const out = $(`#${name}-out`);
    out.hidden = false;
    // charts drawn while their section was hidden have no width yet
    for (const c of $$(".js-plotly-plot", out)) Plotly.Plots.resize(c);
  } catch (err) {
    setStatus(name, `error: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}
function plot(id, traces, layout) {
  const base = {
    margin: { l: 70, r: 20, t: 50, b: 60 },
    font: { family: "system-ui, sans-serif", size: 12 },
    legend: { orientation: "h", y: -0.2 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  Plotly.react(id, traces, Object.assign(base, layout), PLOT_CONFIG);
}
function numberInput(form, name) {
  const raw = form.elements[name].value.trim();
  if (raw === "") return null;
  const x = Number(raw);
  if (!Number.isFinite(x)) throw new Error(`${name}: '${raw}' is not a number`);
  return x;
}

// -- tabs --------------------------------------------------------------------------------------
function showTab() {
  const name = (location.hash || "#plan").slice(1);
  const known = ["plan", "compare", "decide", "validate"];
  const tab = known.includes(name) ? name : "plan";
  for (const t of known) {
    $(`#tab-${t}`).hidden = t !== tab;
    $(`nav a[data-tab=${t}]`).setAttribute("aria-selected", String(t === tab));
  }
  // plotly sizes hidden charts at zero width; redraw the visible ones
  for (const c of $$(`#tab-${tab} .js-plotly-plot`)) Plotly.Plots.resize(c);
}

// -- catalog -----------------------------------------------------------------------------------
async function loadCatalog() {
  const [chips, models, offerings, limits, scenarios] = await Promise.all([
    api("/api/chips"), api("/api/models"), api("/api/offerings"), api("/api/limits"),
    api("/api/scenarios"),
  ]);
  Object.assign(state, { chips, models, offerings, limits });
  for (const sel of $$("select[data-list=models]")) {
    sel.replaceChildren(...models.map((m) => el("option", { value: m.id, text: m.id })));
    sel.value = "llama3.1-70b";
  }
  for (const sel of $$("select[data-list=chips]")) {
    sel.replaceChildren(...chips.map((c) => el("option", { value: c.id, text: `${c.id} (${c.vendor})` })));
    sel.value = "h100-sxm";
  }
  fillPrices();
  const box = $("#compare-chips");
  const preset = new Set(["h100-sxm", "h200", "b200", "mi300x", "tpu-v5p", "trn2", "gaudi3"]);
  let vendor = null;
  for (const c of [...chips].sort((a, b) => a.vendor.localeCompare(b.vendor) || a.id.localeCompare(b.id))) {
    if (c.vendor !== vendor) {
      vendor = c.vendor;
      box.append(el("div", { class: "vendor", text: vendor }));
    }
    box.append(el("label", {}, el("input", { type: "checkbox", value: c.id, checked: preset.has(c.id) }), c.id));
  }
  $("#decide-shipped").replaceChildren(...scenarios.map((s) => el("option", { value: s, text: s })));
  const samples = $("#decide-form").elements.samples;
  samples.max = String(limits.max_samples);
  if (!$("#decide-yaml").value.trim()) loadShipped().catch(() => {});
}
function fillPrices() {
  const form = $("#plan-form");
  const chip = form.elements.hardware.value;
  const sel = form.elements.price;
  // rows come sorted by (offering, type, date): the last of each offering:type is the newest,
  // the price the API uses for it
  const newest = new Map();
  for (const p of state.offerings.filter((o) => o.chip === chip)) newest.set(`${p.offering}:${p.type}`, p);
  const opts = [el("option", { value: "", text: "no price" })];
  for (const [value, p] of newest) {
    opts.push(el("option", { value, text: `${p.offering} ${p.type} $${fixed(p.usd_per_chip_hour, 2)}/chip-h (${p.date})` }));
  }
  sel.replaceChildren(...opts);
  const onDemand = [...newest.keys()].find((k) => k.endsWith(":on_demand"));
  if (opts.length > 1) sel.value = onDemand || opts[1].value;
}

// -- Plan --------------------------------------------------------------------------------------
function planRequest() {
  const f = $("#plan-form");
  const body = {
    model: f.elements.model.value,
    hardware: f.elements.hardware.value,
    chips: numberInput(f, "chips"),
    global_batch: numberInput(f, "global_batch"),
    seq: numberInput(f, "seq"),
    precision: f.elements.precision.value,
    top: numberInput(f, "top") || 5,
  };
  const tokens = numberInput(f, "tokens");
  if (tokens !== null) body.tokens = tokens;
  if (f.elements.price.value) body.price = f.elements.price.value;
  return body;
}
async function submitPlan() {
  const req = planRequest();
  const r = await api("/api/plan", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(req),
  });
  renderPlan(r);
}
function renderPlan(r) {
  $("#plan-summary").textContent =
    `${r.model} on ${int(r.chips)} × ${r.hardware}: global batch ${int(r.global_batch)} × ${int(r.seq_len)} tokens, ${r.precision}. ` +
    `${int(r.plans_evaluated)} plans evaluated (${int(r.plans_feasible)} fit in memory) in ${fixed(r.seconds, 2)} s; ` +
    `calibration: ${r.calibration.level} '${r.calibration.name}'.`;
  const t = r.training;
  const line = $("#plan-training");
  line.replaceChildren();
  if (t) {
    line.append(
      `Training ${t.tokens.toExponential(2)} tokens: `,
      el("b", { id: "plan-days", text: `${fixed(t.days, 1)} days` }),
      ` (${range(t.seconds_interval[0] / DAY, t.seconds_interval[1] / DAY, (x) => fixed(x, 1))})`,
    );
    if (isNum(t.cost_usd)) {
      line.append(", ", el("b", { id: "plan-cost", text: usd(t.cost_usd) }),
        ` (${range(t.cost_usd_interval[0], t.cost_usd_interval[1], usd)}) at $${fixed(t.price.usd_per_chip_hour, 2)}/chip-h (${t.price.type}, ${t.price.date})`);
    }
    if (isNum(t.energy_kwh)) line.append(`, ${fixed(t.energy_kwh / 1000, 0)} MWh at TDP`);
  }
  $("#plan-notes").replaceChildren(...r.assumptions.map((a) => el("li", { text: a })));
  fillTable($("#plan-table"), [
    { label: "#", key: "rank", value: (p, i) => String(i + 1) },
    { label: "plan", key: "plan", cls: "l", value: (p) => p.description },
    { label: "step s", key: "step", value: (p) => fixed(p.step_time_s, 3) },
    { label: "tok/s/chip", key: "tps", value: (p) => int(p.tokens_per_s_per_chip) },
    { label: "80% interval", key: "interval", value: (p) => range(p.tokens_per_s_per_chip_interval[0], p.tokens_per_s_per_chip_interval[1], int) },
    { label: "MFU", key: "mfu", value: (p) => pct(p.mfu) },
    { label: "MFU causal", key: "mfu_causal", value: (p) => pct(p.mfu_causal) },
    { label: "mem GB", key: "mem", value: (p) => fixed(p.memory_bytes.total / 1e9, 1) },
  ], r.top);
  const labels = r.top.map((p, i) => `#${i + 1}`);
  const traces = TIME_TERMS.filter(([k]) => r.top.some((p) => p.time_s[k] > 0)).map(([k, name]) => ({
    type: "bar", name, x: labels, y: r.top.map((p) => p.time_s[k]),
    customdata: r.top.map((p) => p.description),
    hovertemplate: `${name}: %{y:.4f} s<br>%{customdata}<extra></extra>`,
  }));
  plot("plan-breakdown", traces, {
    barmode: "stack", title: { text: "Step time by term, best plans" },
    yaxis: { title: { text: "seconds per step" } }, xaxis: { title: { text: "plan (rank)" } },
  });
  renderPareto(r);
  const best = r.best;
  fillTable($("#plan-memory"), [
    { label: "category", cls: "l", value: (m) => m[1] },
    { label: "GB", key: "mem", value: (m) => fixed(best.memory_bytes[m[0]] / 1e9, 2) },
  ], [...MEMORY_TERMS, ["total", "total"]]);
}
function renderPareto(r) {
  const front = r.pareto || [];
  const div = $("#plan-pareto");
  if (!front.length) {
    Plotly.purge(div);
    div.replaceChildren(el("p", { class: "muted", style: "padding:1rem", text: r.training ? "No chip count in 1/4x..4x has a feasible plan." : "Give tokens to train to see the time-vs-cost front over 1/4x to 4x the chips." }));
    return;
  }
  div.replaceChildren();
  const priced = front.every((p) => isNum(p.cost_usd));
  const hover = "%{text}: %{x:.1f} days, " + (priced ? "$%{y:,.0f}" : "%{y:,.0f} chip-hours") + "<br>%{customdata}<extra></extra>";
  const t = r.training;
  const traces = [{
    type: "scatter", mode: "lines+markers+text", name: "Pareto front (1/4x to 4x the chips)",
    x: front.map((p) => p.seconds / DAY),
    y: front.map((p) => (priced ? p.cost_usd : (p.chips * p.seconds) / 3600)),
    text: front.map((p) => `${int(p.chips)} chips`), textposition: "top center", cliponaxis: false,
    customdata: front.map((p) => p.plan), marker: { size: 9, color: "#2f5fd0" }, hovertemplate: hover,
  }];
  if (t) {
    traces.push({
      type: "scatter", mode: "markers", name: `requested: ${int(r.chips)} chips`,
      x: [t.days], y: [priced ? t.cost_usd : t.chip_hours], text: [`${int(r.chips)} chips (requested)`],
      customdata: [r.best.description], hovertemplate: hover,
      marker: { size: 14, symbol: "diamond-open", color: "#e8590c", line: { width: 2 } },
    });
  }
  plot("plan-pareto", traces, {
    title: { text: "Time vs cost across chip counts (Pareto front)" },
    xaxis: { title: { text: "days to train" }, rangemode: "tozero" },
    yaxis: { title: { text: priced ? "cost (USD)" : "chip-hours (no price)" }, rangemode: "tozero" },
  });
}

// -- Compare -----------------------------------------------------------------------------------
function compareRequest() {
  const f = $("#compare-form");
  const hardware = $$("#compare-chips input:checked").map((i) => i.value);
  if (!hardware.length) throw new Error("pick at least one chip");
  return {
    model: f.elements.model.value,
    chips: numberInput(f, "chips"),
    global_batch: numberInput(f, "global_batch"),
    seq: numberInput(f, "seq"),
    tokens: numberInput(f, "tokens"),
    price_type: f.elements.price_type.value,
    precision: f.elements.precision.value,
    hardware,
  };
}
async function submitCompare() {
  const req = compareRequest();
  const r = await api("/api/compare", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(req),
  });
  renderCompare(r);
}
function errorBars(rows, key, ivKey, scale) {
  return {
    type: "data", symmetric: false, visible: true, thickness: 1.5, width: 5,
    array: rows.map((r) => (r[ivKey] && isNum(r[key]) ? (r[ivKey][1] - r[key]) / scale : 0)),
    arrayminus: rows.map((r) => (r[ivKey] && isNum(r[key]) ? (r[key] - r[ivKey][0]) / scale : 0)),
  };
}
function renderCompare(r) {
  const ok = r.rows.filter((x) => x.feasible);
  $("#compare-summary").textContent =
    `${r.model} on ${int(r.chips)} chips of each kind: global batch ${int(r.global_batch)} × ${int(r.seq_len)} tokens, ${r.precision}; ` +
    `${r.tokens.toExponential(2)} tokens to train; each chip at its cheapest ${r.price_type} price. Bars: best plan; error bars: 80% interval.`;
  const colors = ok.map((x) => VENDOR_COLORS[x.vendor] || VENDOR_COLORS.other);
  const names = ok.map((x) => x.hardware);
  plot("compare-days", [{
    type: "bar", x: names, y: ok.map((x) => x.days), marker: { color: colors },
    error_y: errorBars(ok, "days", "days_interval", 1),
    customdata: ok.map((x) => x.plan), hovertemplate: "%{x}: %{y:.1f} days<br>%{customdata}<extra></extra>",
  }], { title: { text: "Days to train" }, yaxis: { title: { text: "days" } }, showlegend: false });
  const priced = ok.filter((x) => isNum(x.cost_usd));
  plot("compare-cost", [{
    type: "bar", x: priced.map((x) => x.hardware), y: priced.map((x) => x.cost_usd),
    marker: { color: priced.map((x) => VENDOR_COLORS[x.vendor] || VENDOR_COLORS.other) },
    error_y: errorBars(priced, "cost_usd", "cost_usd_interval", 1),
    customdata: priced.map((x) => x.offering), hovertemplate: "%{x}: $%{y:,.0f} (%{customdata})<extra></extra>",
  }], {
    title: { text: priced.length ? "Cost to train (USD)" : "Cost to train: no chip has a price of this type" },
    yaxis: { title: { text: "USD" } }, showlegend: false,
  });
  fillTable($("#compare-table"), [
    { label: "chip", key: "chip", cls: "l", value: (x) => x.hardware },
    { label: "vendor", cls: "l", value: (x) => x.vendor },
    { label: "plan", key: "plan", cls: "l wrap", value: (x) => (x.feasible ? x.plan : x.reason) },
    { label: "tok/s/chip", key: "tps", value: (x) => int(x.tokens_per_s_per_chip) },
    { label: "MFU", key: "mfu", value: (x) => pct(x.mfu) },
    { label: "days", key: "days", value: (x) => fixed(x.days, 1) },
    { label: "days 80%", key: "days_iv", value: (x) => (x.days_interval ? range(x.days_interval[0], x.days_interval[1], (v) => fixed(v, 1)) : DASH) },
    { label: "cost $", key: "cost", value: (x) => usd(x.cost_usd) },
    { label: "cost 80% $", key: "cost_iv", value: (x) => (x.cost_usd_interval ? range(x.cost_usd_interval[0], x.cost_usd_interval[1], usd) : DASH) },
    { label: "$/chip-h", key: "price", value: (x) => (x.training && x.training.price ? fixed(x.training.price.usd_per_chip_hour, 2) : DASH) },
    { label: "offering", cls: "l", value: (x) => x.offering || DASH },
    { label: "MWh", key: "mwh", value: (x) => (isNum(x.energy_kwh) ? fixed(x.energy_kwh / 1000, 0) : DASH) },
  ], r.rows, (x) => (x.feasible ? null : "infeasible"));
  $("#compare-note").textContent = `${r.interval}. Prices: ${r.price_rule}. Energy: ${r.energy_note}.`;
}

// -- Decide ------------------------------------------------------------------------------------
async function loadShipped() {
  const name = $("#decide-shipped").value;
  if (!name) return;
  const text = await api(`/api/scenarios/${encodeURIComponent(name)}`);
  $("#decide-yaml").value = text;
}
async function submitDecide() {
  const f = $("#decide-form");
  let yaml = $("#decide-yaml").value;
  if (!yaml.trim()) {
    await loadShipped();
    yaml = $("#decide-yaml").value;
  }
  const q = new URLSearchParams();
  const samples = numberInput(f, "samples");
  const seed = numberInput(f, "seed");
  if (samples !== null) q.set("samples", String(samples));
  if (seed !== null) q.set("seed", String(seed));
  if (f.elements.objective.value) q.set("objective", f.elements.objective.value);
  const r = await api(`/api/decide?${q}`, {
    method: "POST", headers: { "content-type": "application/yaml" }, body: yaml,
  });
  state.decision = r;
  renderDecision(r);
}
function renderDecision(r) {
  const v = r.verdict;
  const box = $("#decide-verdict");
  box.replaceChildren(
    el("div", {}, el("b", { id: "decide-winner", text: v.label }), ` — P(best) `,
      el("b", { id: "decide-pbest", text: pct(v.probability, 0) }),
      `; runner-up ${v.runner_up}; ${r.run.samples.toLocaleString("en-US")} samples, seed ${r.run.seed}, objective ${r.objective}`),
    el("p", { id: "decide-sentence", text: v.sentence }),
  );
  const obj = r.objective;
  fillTable($("#decide-options"), [
    { label: "option", key: "option", cls: "l", value: (o) => o.id },
    { label: "P(best)", key: "p_best", value: (o) => pct(o.p_best, 0) },
    { label: "E[objective]", key: "expected", value: (o) => objective(obj, o.expected_objective) },
    { label: "NPV p5", value: (o) => usdShort(o.metrics.npv_usd.p5) },
    { label: "NPV p50", key: "npv_p50", value: (o) => usdShort(o.metrics.npv_usd.p50) },
    { label: "NPV p95", value: (o) => usdShort(o.metrics.npv_usd.p95) },
    { label: "cost p50", value: (o) => usdShort(o.metrics.cost_usd.p50) },
    { label: "ownership sold p50", value: (o) => pct(o.metrics.ownership_sold.p50) },
    { label: "runway p50", value: (o) => `${fixed(o.metrics.runway_months.p50, 1)} mo` },
    { label: "P(cash out)", value: (o) => pct(o.p_cash_out, 0) },
    { label: "E[regret]", value: (o) => objective(obj, o.expected_regret) },
  ], r.options, (o) => (o.id === v.option ? "winner" : null));
  renderHistogram();
  renderTornado(r);
  const [a, b] = r.break_even_pair;
  $("#decide-be-title").textContent = `Break-even values (E[${a} − ${b}] = 0)`;
  fillTable($("#decide-breakeven"), [
    { label: "input", cls: "l", value: (e) => e.label },
    { label: "break-even", key: "value", value: (e) => (e.unit === "USD" ? usdShort(e.value) : sci(e.value)) },
    { label: "unit", cls: "l", value: (e) => e.unit },
    { label: "median now", value: (e) => (e.unit === "USD" ? usdShort(e.base) : sci(e.base)) },
    { label: "note", cls: "l wrap", value: (e) => e.note },
  ], r.break_even);
  $("#decide-notes").replaceChildren(...r.notes.map((n) => el("li", { text: n })));
}
function renderHistogram() {
  const r = state.decision;
  if (!r) return;
  const metric = $("#decide-metric").value;
  const h = r.distributions[metric];
  if (!h) return;
  const centers = h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2);
  const width = h.edges[1] - h.edges[0];
  const palette = ["#2f5fd0", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00", "#1098ad"];
  const options = Object.keys(h.counts);
  const traces = options.map((o, i) => ({
    type: "bar", name: o, x: centers, y: h.counts[o], width, opacity: 0.55,
    marker: { color: palette[i % palette.length] },
  }));
  const label = $("#decide-metric").selectedOptions[0].textContent;
  plot("decide-hist", traces, {
    barmode: "overlay", title: { text: `Outcome distribution per option: ${label}` },
    xaxis: { title: { text: label } }, yaxis: { title: { text: "samples" } }, bargap: 0,
  });
}
function renderTornado(r) {
  const rows = r.sensitivity.slice(0, 10).reverse();
  const [a, b] = r.sensitivity_context.pair;
  const base = r.sensitivity_context.base;
  const labels = rows.map((e) => e.label);
  const obj = r.objective;
  const scale = obj === "compute" ? 1 : 1e9;
  const unit = obj === "compute" ? "FLOP" : "$B";
  plot("decide-tornado", [
    {
      type: "bar", orientation: "h", name: "input at p10 (event off)", y: labels,
      x: rows.map((e) => (e.low - base) / scale), base: base / scale, marker: { color: "#2f5fd0" },
      hovertemplate: "%{y}: E = %{x:.3g} " + unit + " at p10<extra></extra>",
    },
    {
      type: "bar", orientation: "h", name: "input at p90 (event on)", y: labels,
      x: rows.map((e) => (e.high - base) / scale), base: base / scale, marker: { color: "#e8590c" },
      hovertemplate: "%{y}: E = %{x:.3g} " + unit + " at p90<extra></extra>",
    },
  ], {
    barmode: "overlay", title: { text: `Tornado: E[${a} − ${b}] (${unit})` },
    margin: { l: 40, r: 20, t: 50, b: 60 }, yaxis: { automargin: true },
    xaxis: { title: { text: `E[${a} − ${b}], ${unit}` } },
    shapes: [{ type: "line", x0: base / scale, x1: base / scale, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#666" } }],
  });
}

// -- Validate ----------------------------------------------------------------------------------
async function submitValidate() {
  const r = await api("/api/validate");
  renderValidate(r);
}
function renderValidate(r) {
  const s = r.summary.all;
  $("#validate-summary").replaceChildren(
    `${s.n} runs predicted (${r.summary.rows_skipped} not modelled): median |error| `,
    el("b", { id: "validate-median", text: pct(s.median_abs_error) }),
    `, p90 |error| ${pct(s.p90_abs_error)}, mean signed ${signedPct(s.mean_signed_error)}, ${pct(s.interval_coverage, 0)} of measurements inside the 80% interval.`,
  );
  const byVendor = {};
  for (const row of r.rows) {
    const v = r.vendors[row.accelerator] || "other";
    (byVendor[v] = byVendor[v] || []).push(row);
  }
  const traces = Object.entries(byVendor).map(([vendor, rows]) => ({
    type: "scatter", mode: "markers", name: vendor,
    x: rows.map((x) => x.measured_tokens_per_s_per_chip),
    y: rows.map((x) => x.predicted_tokens_per_s_per_chip),
    error_y: {
      type: "data", symmetric: false, thickness: 1, width: 0, color: VENDOR_COLORS[vendor] || VENDOR_COLORS.other,
      array: rows.map((x) => x.interval[1] - x.predicted_tokens_per_s_per_chip),
      arrayminus: rows.map((x) => x.predicted_tokens_per_s_per_chip - x.interval[0]),
    },
    text: rows.map((x) => `${x.id} (${x.accelerator})<br>error ${signedPct(x.error)}`),
    hovertemplate: "%{text}<br>measured %{x:,.0f}, predicted %{y:,.0f} tok/s/chip<extra></extra>",
    marker: { color: VENDOR_COLORS[vendor] || VENDOR_COLORS.other, size: 8, opacity: 0.85 },
  }));
  const all = r.rows.flatMap((x) => [x.measured_tokens_per_s_per_chip, x.predicted_tokens_per_s_per_chip]);
  const lo = Math.min(...all) / 1.5, hi = Math.max(...all) * 1.5;
  for (const [f, name, dash] of [[1, "predicted = measured", "solid"], [1.25, "±25%", "dot"], [0.8, "", "dot"]]) {
    traces.push({
      type: "scatter", mode: "lines", name, showlegend: name !== "", x: [lo, hi], y: [lo * f, hi * f],
      line: { color: "#888", dash, width: 1 }, hoverinfo: "skip",
    });
  }
  plot("validate-scatter", traces, {
    title: { text: "Predicted vs measured tokens/s per chip (published runs; error bars: 80% interval)" },
    xaxis: { type: "log", title: { text: "measured tokens/s per chip" } },
    yaxis: { type: "log", title: { text: "predicted tokens/s per chip" } },
    legend: { orientation: "v", x: 1.02, y: 1 }, margin: { l: 80, r: 160, t: 50, b: 60 },
  });
  const groups = [["all", s], ...Object.entries(r.summary.by_accelerator).map(([k, v]) => [`chip ${k}`, v]),
    ...Object.entries(r.summary.by_source).map(([k, v]) => [`source ${k}`, v])];
  fillTable($("#validate-groups"), [
    { label: "group", cls: "l", value: (g) => g[0] },
    { label: "n", key: "n", value: (g) => String(g[1].n) },
    { label: "median |err|", key: "median", value: (g) => pct(g[1].median_abs_error) },
    { label: "p90 |err|", value: (g) => pct(g[1].p90_abs_error) },
    { label: "mean signed", value: (g) => signedPct(g[1].mean_signed_error) },
    { label: "in interval", value: (g) => pct(g[1].interval_coverage, 0) },
  ], groups);
  fillTable($("#validate-rows"), [
    { label: "id", key: "id", cls: "l", value: (x) => x.id },
    { label: "chip", cls: "l", value: (x) => x.accelerator },
    { label: "measured", key: "measured", value: (x) => fixed(x.measured_tokens_per_s_per_chip, 1) },
    { label: "predicted", key: "predicted", value: (x) => fixed(x.predicted_tokens_per_s_per_chip, 1) },
    { label: "error", key: "error", value: (x) => signedPct(x.error) },
    { label: "80% interval", value: (x) => range(x.interval[0], x.interval[1], int) },
    { label: "plan", cls: "l wrap", value: (x) => x.plan },
  ], r.rows, (x) => (Math.abs(x.error) > 0.25 ? "bad" : null));
  $("#validate-skipped-title").textContent = `Rows not modelled (${r.skipped.length})`;
  fillTable($("#validate-skipped"), [
    { label: "id", cls: "l", value: (x) => x.id },
    { label: "reason", cls: "l wrap", value: (x) => x.reason },
  ], r.skipped);
}

// -- wiring ------------------------------------------------------------------------------------
function wire() {
  window.addEventListener("hashchange", showTab);
  $("#plan-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("plan", submitPlan); });
  $("#plan-form").elements.hardware.addEventListener("change", fillPrices);
  $("#compare-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("compare", submitCompare); });
  $("#compare-all").addEventListener("click", () => $$("#compare-chips input").forEach((i) => { i.checked = true; }));
  $("#compare-none").addEventListener("click", () => $$("#compare-chips input").forEach((i) => { i.checked = false; }));
  $("#decide-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("decide", submitDecide); });
  $("#decide-load").addEventListener("click", () => loadShipped().catch((err) => setStatus("decide", `error: ${err.message}`, true)));
  $("#decide-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    file.text().then((text) => { $("#decide-yaml").value = text; setStatus("decide", `loaded ${file.name}`); });
  });
  $("#decide-metric").addEventListener("change", renderHistogram);
  $("#validate-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("validate", submitValidate); });
}

document.addEventListener("DOMContentLoaded", async () => {
  wire();
  showTab();
  try {
    await loadCatalog();
    document.body.dataset.ready = "1";
  } catch (err) {
    setStatus("plan", `error loading the catalog: ${err.message}`, true);
  }
});
