// chipswitch dashboard: plain JS over the /api endpoints of the same server.
// Numbers are formatted by `fmt` (format.js, the twin of chipswitch/format.py).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const DAY = 86400;
const TABS = ["plan", "compare", "decide", "validate"];
// one colour per vendor, far apart in hue (Intel and Google are both blue in their logos)
const VENDOR_COLORS = {
  nvidia: "#4d8f00", amd: "#d62728", google: "#1f6fd1", aws: "#ff9900", intel: "#8e44ad",
  other: "#7f7f7f",
};
const vendorColor = (v) => VENDOR_COLORS[v] || VENDOR_COLORS.other;
const TIME_TERMS = [
  ["compute_matmul", "matmul"], ["compute_attention", "attention"],
  ["compute_memory_bound", "memory-bound ops"], ["compute_head", "LM head + loss"],
  ["recompute", "recomputation"], ["layer_overhead", "per-layer overhead"],
  ["host_exposed", "host launch (exposed)"], ["spec_cap", "spec-based cap"],
  ["overlap_slowdown", "compute slowed by hidden comm"],
  ["tp_exposed", "TP/SP comm (exposed)"], ["ep_exposed", "EP all-to-all (exposed)"],
  ["cp_exposed", "CP ring (exposed)"], ["pp_total", "PP send/recv"],
  ["bubble", "pipeline bubble"], ["dp_exposed", "DP/ZeRO comm (exposed)"],
  ["optimizer", "optimizer step"],
];
const MEMORY_TERMS = [
  ["mem_weights", "weights"], ["mem_gradients", "gradients"], ["mem_optimizer", "optimizer states"],
  ["mem_activations", "activations (in flight)"], ["mem_logits", "logits"],
  ["mem_buffers", "buffers + framework"],
];
// No "share to cloud", "edit in Chart Studio" or logo link: nothing on a chart leaves the machine.
const PLOT_CONFIG = {
  displaylogo: false, responsive: true, showSendToCloud: false, showEditInChartStudio: false,
  showLink: false, modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d"],
};
const state = {
  chips: [], models: [], offerings: [], limits: null, results: {}, queries: {}, applied: {},
  running: {}, scenarioText: {},
};
const { DASH } = fmt;
const isNum = fmt.finite;
const plainInterval = (x, iv) => (iv ? fmt.sigInterval(x, iv[0], iv[1]) : fmt.sig(x));
const daysInterval = (d, iv) => (isNum(d) ? `${plainInterval(d, iv)} days` : DASH);
const priceType = (t) => String(t || "").replaceAll("_", " ");

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
// columns: [{label, key?, cls?, value(row, i) -> text, raw(row, i) -> CSV value}]; rows: objects
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
  table.csv = () => toCsv(columns, rows);
  addCsvButton(table);
}
function csvField(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvField(c.csv || c.label)).join(",")];
  rows.forEach((r, i) => lines.push(columns.map((c) => csvField(c.raw ? c.raw(r, i) : c.value(r, i))).join(",")));
  return lines.join("\r\n") + "\r\n";
}
function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
function addCsvButton(table) {
  const wrap = table.closest(".table-wrap");
  const prev = wrap.previousElementSibling;
  if (prev && prev.classList.contains("table-tools")) return;
  const button = el("button", { type: "button", class: "link csv", "data-table": table.id, text: "CSV" });
  button.addEventListener("click", () => download(`chipswitch-${table.id}.csv`, table.csv(), "text/csv"));
  wrap.before(el("div", { class: "table-tools" }, button));
}
function addJsonButton(name) {
  const out = $(`#${name}-out`);
  if ($(".result-tools", out)) return;
  const button = el("button", { type: "button", class: "link json", id: `${name}-json`, text: "Download JSON" });
  button.addEventListener("click", () => {
    download(`chipswitch-${name}.json`, JSON.stringify(state.results[name], null, 2) + "\n", "application/json");
  });
  const link = el("button", { type: "button", class: "link", id: `${name}-copy-link`, text: "Copy link to this view" });
  link.addEventListener("click", () => {
    navigator.clipboard.writeText(location.href).then(
      () => { link.textContent = "link copied"; setTimeout(() => { link.textContent = "Copy link to this view"; }, 2000); },
      () => { link.textContent = "copy the address bar"; },
    );
  });
  out.prepend(el("div", { class: "result-tools" }, button, link));
}

// -- requests, status, errors ------------------------------------------------------------------
class FieldError extends Error {
  constructor(fields, message) {
    super(message);
    this.fields = fields;
  }
}
// The form fields an API error is about: its `field`, FastAPI's `loc`, or what the message names.
function errorFields(body, message) {
  const fields = new Set();
  if (body && typeof body === "object") {
    if (typeof body.field === "string") fields.add(body.field);
    if (typeof body.limit === "string") fields.add(body.limit);
    if (Array.isArray(body.detail)) for (const d of body.detail) if (d.loc && d.loc.length > 1) fields.add(String(d.loc[1]));
    if (Array.isArray(body.problems) && body.problems.length) fields.add("yaml");
  }
  if (/no plan fits/.test(message)) ["chips", "global_batch", "hardware"].forEach((f) => fields.add(f));
  if (/scenario|YAML/i.test(message)) fields.add("yaml");
  return [...fields];
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
    throw new FieldError(errorFields(body, msg), msg);
  }
  return body;
}
const postJson = (path, body, signal) => api(path, {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal,
});
const FIELD_ALIASES = { max_samples: "samples", max_chips: "chips", max_global_batch: "global_batch", max_seq_len: "seq", max_hardware: "hardware" };
function markFields(name, fields) {
  const form = $(`#${name}-form`);
  for (const n of $$(".invalid", form)) { n.classList.remove("invalid"); n.removeAttribute("aria-invalid"); }
  for (const raw of fields) {
    const f = FIELD_ALIASES[raw] || raw;
    const target = name === "compare" && f === "hardware" ? $("#compare-chips").closest("fieldset")
      : name === "decide" && (f === "yaml" || f === "scenario") ? $("#decide-yaml")
        : form.elements[f];
    if (target && target.classList) {
      target.classList.add("invalid");
      target.setAttribute("aria-invalid", "true");
    }
  }
}
function setStatus(name, text, kind = "") {
  const s = $(`#${name}-status`);
  s.replaceChildren(text);
  s.className = `status ${kind}`;
}
// Run `work(signal)` with a spinner, the elapsed time and a Cancel button. While it runs and
// after it fails or is cancelled, the previous results are greyed out ("stale").
async function runForm(name, work) {
  if (state.running[name]) state.running[name].abort();
  const controller = new AbortController();
  state.running[name] = controller;
  const form = $(`#${name}-form`);
  const out = $(`#${name}-out`);
  const button = $("button[type=submit]", form);
  button.disabled = true;
  out.classList.add("stale");
  markFields(name, []);
  const t0 = performance.now();
  const clock = el("span", { class: "elapsed", text: "0.0 s" });
  const cancel = el("button", { type: "button", class: "cancel", id: `${name}-cancel`, text: "Cancel" });
  cancel.addEventListener("click", () => controller.abort());
  const status = $(`#${name}-status`);
  status.className = "status working";
  status.replaceChildren(el("span", { class: "spinner", "aria-hidden": "true" }), "working… ", clock, " ", cancel);
  const timer = setInterval(() => { clock.textContent = `${((performance.now() - t0) / 1000).toFixed(1)} s`; }, 100);
  try {
    await work(controller.signal);
    setStatus(name, `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    out.hidden = false;
    out.classList.remove("stale");
    addJsonButton(name);
    // charts drawn while their section was hidden have no width yet
    for (const c of $$(".js-plotly-plot", out)) Plotly.Plots.resize(c);
  } catch (err) {
    if (err.name === "AbortError") {
      setStatus(name, out.hidden ? "cancelled" : "cancelled; the results below are from the previous run", "error");
    } else {
      markFields(name, err.fields || []);
      const tail = out.hidden ? "" : " (the results below are from the previous run)";
      setStatus(name, `error: ${err.message}${tail}`, "error");
    }
  } finally {
    clearInterval(timer);
    button.disabled = false;
    if (state.running[name] === controller) delete state.running[name];
  }
}
function numberInput(form, name, required = true) {
  const raw = form.elements[name].value.trim();
  if (raw === "") {
    if (required) throw new FieldError([name], `${name}: a number is required`);
    return null;
  }
  const x = Number(raw);
  if (!Number.isFinite(x)) throw new FieldError([name], `${name}: '${raw}' is not a number`);
  return x;
}

// -- charts ------------------------------------------------------------------------------------
function plot(id, traces, layout) {
  const base = {
    margin: { l: 70, r: 20, t: 50, b: 60 },
    font: { family: "system-ui, sans-serif", size: 12 },
    legend: { orientation: "h", y: -0.2 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  const merged = Object.assign(base, layout);
  // a phone's chart is ~360 px wide: smaller titles so they are not cut
  if (merged.title && window.innerWidth < 600) {
    const text = wrapTitle(merged.title.text || "", 44);
    merged.title = { ...merged.title, text, font: { size: 12 } };
    const lines = text.split("<br>").length;
    merged.margin = { ...merged.margin, t: Math.max(merged.margin.t, 30 + 16 * lines) };
  }
  Plotly.react(id, traces, merged, PLOT_CONFIG);
}
// Break a title into lines of at most `width` characters at spaces (plotly does not wrap).
function wrapTitle(text, width) {
  const lines = [];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join("<br>");
}
// About `n` round tick values over [lo, hi] with their text from `show`.
function ticks(lo, hi, show, n = 5) {
  if (!(isNum(lo) && isNum(hi)) || hi <= lo) return {};
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const vals = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) vals.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { tickmode: "array", tickvals: vals, ticktext: vals.map(show) };
}
const extent = (xs) => [Math.min(0, ...xs.filter(isNum)), Math.max(...xs.filter(isNum))];

// -- URL state: #tab?inputs ----------------------------------------------------------------------
function parseHash() {
  const h = location.hash.slice(1);
  const q = h.indexOf("?");
  const name = q < 0 ? h : h.slice(0, q);
  return { tab: TABS.includes(name) ? name : "plan", params: new URLSearchParams(q < 0 ? "" : h.slice(q + 1)) };
}
function setHash(tab, params) {
  const query = params.toString();
  state.queries[tab] = query;
  state.applied[tab] = query;
  history.replaceState(null, "", `#${tab}${query ? `?${query}` : ""}`);
  $(`nav a[data-tab=${tab}]`).setAttribute("href", `#${tab}${query ? `?${query}` : ""}`);
}
function formParams(form, names) {
  const p = new URLSearchParams();
  for (const n of names) {
    const v = form.elements[n].value.trim();
    if (v !== "") p.set(n, v);
  }
  return p;
}
function fillForm(form, params, names) {
  for (const n of names) if (params.has(n) && form.elements[n]) form.elements[n].value = params.get(n);
}
// base64url(deflate(text)): a scenario edited in the page travels in the link
async function pack(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
async function unpack(s) {
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).text();
}
const PLAN_FIELDS = ["model", "hardware", "chips", "global_batch", "seq", "tokens", "price", "precision", "top", "failure_rate"];
const COMPARE_FIELDS = ["model", "chips", "global_batch", "seq", "tokens", "price_type", "precision"];
const DECIDE_FIELDS = ["samples", "seed", "objective"];

// Apply the hash's inputs to its tab and run it, once per distinct address.
async function applyHash() {
  const { tab, params } = parseHash();
  showTab(tab);
  const query = params.toString();
  if (tab === "validate") {
    if (!state.results.validate && !state.running.validate) runForm("validate", submitValidate);
    return;
  }
  if (!query || state.applied[tab] === query) return;
  state.applied[tab] = query;
  if (tab === "plan") {
    const f = $("#plan-form");
    fillForm(f, params, ["model", "hardware"]);
    fillPrices();
    fillForm(f, params, PLAN_FIELDS);
    if (!params.has("price")) f.elements.price.value = "";
    runForm("plan", submitPlan);
  } else if (tab === "compare") {
    fillForm($("#compare-form"), params, COMPARE_FIELDS);
    if (params.has("hardware")) {
      const picked = new Set(params.get("hardware").split(","));
      for (const i of $$("#compare-chips input")) i.checked = picked.has(i.value);
    }
    runForm("compare", submitCompare);
  } else if (tab === "decide") {
    const f = $("#decide-form");
    fillForm(f, params, DECIDE_FIELDS);
    if (params.has("metric")) $("#decide-metric").value = params.get("metric");
    if (params.has("yaml")) {
      $("#decide-yaml").value = await unpack(params.get("yaml"));
    } else if (params.has("scenario")) {
      $("#decide-shipped").value = params.get("scenario");
      await loadShipped();
    }
    runForm("decide", submitDecide);
  }
}
function showTab(tab) {
  for (const t of TABS) {
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
  $("#decide-form").elements.samples.max = String(limits.max_samples);
  if (!parseHash().params.has("yaml") && !$("#decide-yaml").value.trim()) await loadShipped().catch(() => {});
}
// rows come sorted by (offering, type, date): the last of each offering:type is the newest, the
// price the API uses for it
function newestPrices(chip) {
  const newest = new Map();
  for (const p of state.offerings.filter((o) => o.chip === chip)) newest.set(`${p.offering}:${p.type}`, p);
  return newest;
}
function fillPrices() {
  const form = $("#plan-form");
  const newest = newestPrices(form.elements.hardware.value);
  const sel = form.elements.price;
  const opts = [el("option", { value: "", text: "no price" })];
  for (const [value, p] of newest) {
    opts.push(el("option", { value, text: `${p.offering} ${priceType(p.type)} $${fmt.sig(p.usd_per_chip_hour)}/chip-h (${p.date})` }));
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
    top: numberInput(f, "top", false) || 5,
  };
  const tokens = numberInput(f, "tokens", false);
  if (tokens !== null) body.tokens = tokens;
  if (f.elements.price.value) body.price = f.elements.price.value;
  const failures = numberInput(f, "failure_rate", false);
  if (failures !== null) body.failure_rate = failures;
  return body;
}
async function submitPlan(signal) {
  const req = planRequest();
  setHash("plan", formParams($("#plan-form"), PLAN_FIELDS));
  const r = await postJson("/api/plan", req, signal);
  state.results.plan = r;
  renderPlan(r, req);
  await explainComparePrice(r, req, signal);
}
// Compare prices a chip at its cheapest offering of the price type, Plan at the one chosen:
// ask Compare (the same rule, the API's answer) what it would say for this job, and say it.
async function explainComparePrice(r, req, signal) {
  const box = $("#plan-compare-price");
  box.replaceChildren();
  const t = r.training;
  if (!t || !t.price || !req.price) return;
  const body = {
    model: req.model, chips: req.chips, global_batch: req.global_batch, seq: req.seq,
    tokens: req.tokens, price_type: t.price.type, precision: req.precision, hardware: [req.hardware],
  };
  let row;
  try {
    row = (await postJson("/api/compare", body, signal)).rows[0];
  } catch (err) {
    if (err.name === "AbortError") throw err;
    return; // the plan stands on its own; the comparison is a courtesy
  }
  if (!row || !row.offering || !isNum(row.cost_usd)) return;
  const chosen = req.price.split(":")[0];
  const type = priceType(t.price.type);
  box.textContent = row.offering === chosen
    ? `${chosen} is also ${r.hardware}'s cheapest ${type} offering, the one Compare uses.`
    : `Compare prices ${r.hardware} at its cheapest ${type} offering instead: ` +
      `${priceText(row.offering, row.training && row.training.price)}, ` +
      `${fmt.moneyInterval(row.cost_usd, ...row.cost_usd_interval)} for the same run.`;
}
// The offering and price type a result was priced at: "aws-p5 on demand, $6.88/chip-h (2026-01-21)"
function priceText(offering, price) {
  if (!price) return "no price";
  return `${offering ? `${offering} ` : ""}${priceType(price.type)}, $${fmt.sig(price.usd_per_chip_hour)}/chip-h (${price.date})`;
}
function ratioWords(r) {
  if (Math.abs(r - 0.5) < 0.04) return "half the time";
  if (Math.abs(r - 1 / 3) < 0.03) return "a third of the time";
  if (Math.abs(r - 0.25) < 0.03) return "a quarter of the time";
  if (Math.abs(r - 2) < 0.1) return "twice the time";
  return r < 1 ? `${fmt.percent(1 - r, 2)} less time` : `${fmt.sig(r, 2)}× the time`;
}
function costWords(c, c0, unit) {
  const d = c / c0 - 1;
  if (Math.abs(d) < 0.02) return `same ${unit}`;
  return d > 0 ? `${fmt.percent(d, 2)} more ${unit}` : `${fmt.percent(-d, 2)} less ${unit}`;
}
// The all-in run (failures, restarts, checkpoints counted) of the plan and of a front point;
// the ideal figures where the all-in ones are missing (an older answer, or a run that never ends).
function allInRun(t) {
  const a = t.all_in;
  const ok = a && isNum(a.seconds);
  return { seconds: ok ? a.seconds : t.seconds, cost_usd: ok ? a.cost_usd : t.cost_usd, chip_hours: ok ? a.chip_hours : t.chip_hours };
}
const frontSeconds = (p) => (isNum(p.all_in_seconds) ? p.all_in_seconds : p.seconds);
const frontCost = (p) => (isNum(p.all_in_seconds) ? p.all_in_cost_usd : p.cost_usd);
// One sentence a reader can act on, from the (all-in) time-vs-cost front around the requested count.
function planTakeaway(r) {
  const t = r.training;
  if (!t) return `${fmt.integer(r.chips)} × ${r.hardware}: ${fmt.sig(r.best.step_time_s)} s per step with the best plan. Give tokens to train for time, cost and other chip counts.`;
  const run = allInRun(t);
  const priced = isNum(run.cost_usd);
  const unit = priced ? "cost" : "chip-hours";
  const secs = frontSeconds;
  const cost = (p) => (priced ? frontCost(p) : (p.chips * secs(p)) / 3600);
  const c0 = priced ? run.cost_usd : run.chip_hours;
  const s0 = run.seconds;
  const front = (r.pareto || []).filter((p) => p.chips !== r.chips && isNum(cost(p)));
  // faster for no more money; failing that, faster for at most 5% more
  const quicker = (limit) => front.filter((p) => secs(p) < 0.9 * s0 && cost(p) <= limit * c0).sort((a, b) => secs(a) - secs(b))[0];
  const faster = quicker(1.02) || quicker(1.05);
  const cheaper = front.filter((p) => cost(p) < 0.95 * c0).sort((a, b) => cost(a) - cost(b))[0];
  const here = `${fmt.integer(r.chips)} chips: ${fmt.days(s0)}${priced ? `, ${fmt.money(run.cost_usd)}` : ""}`;
  if (faster) return `${fmt.integer(faster.chips)} chips: ${costWords(cost(faster), c0, unit)}, ${ratioWords(secs(faster) / s0)} (${fmt.days(secs(faster))} instead of ${fmt.days(s0)} on ${fmt.integer(r.chips)}, all-in).`;
  if (cheaper) return `${fmt.integer(cheaper.chips)} chips: ${costWords(cost(cheaper), c0, unit)} for ${ratioWords(secs(cheaper) / s0)} (${fmt.days(secs(cheaper))}) against ${here}, all-in.`;
  return `${here} all-in — no chip count from ¼× to 4× is both faster and cheaper.`;
}
// The run with failures, restarts and checkpoints counted, and where its wall time goes.
const SPLIT = [["training", "training", "#4c78a8"], ["checkpointing", "checkpointing", "#f58518"],
  ["lost_work", "lost work (recomputed)", "#e45756"], ["restarts", "restarts", "#b279a2"]];
function renderAllIn(t) {
  const line = $("#plan-all-in");
  const chart = $("#plan-goodput");
  const notes = $("#plan-goodput-notes");
  line.replaceChildren();
  notes.replaceChildren();
  const a = t && t.all_in;
  chart.hidden = !a;
  if (!a) return;
  const fm = a.failure_model;
  const days = a.days_interval.length ? [a.days_interval[0], a.days_interval[1]] : [];
  line.append("All-in (failures, restarts, checkpoints): ",
    el("b", { id: "plan-all-in-days", text: daysInterval(a.days, days) }),
    `, ${fmt.count(a.chip_hours)} chip-hours`);
  if (isNum(a.cost_usd)) line.append(", ", el("b", { id: "plan-all-in-cost", text: fmt.moneyInterval(a.cost_usd, ...(a.cost_usd_interval || [])) }));
  line.append(`; goodput ${fmt.percent(t.goodput)} (${fmt.percent(fm.goodput_interval[0])}–${fmt.percent(fm.goodput_interval[1])}), `
    + `${isNum(fm.interruptions) ? fmt.integer(fm.interruptions) : DASH} interruptions expected.`);
  const total = SPLIT.reduce((s, [k]) => s + (fm.split_s[k] || 0), 0);
  plot("plan-goodput", SPLIT.map(([k, name, color]) => ({
    type: "bar", orientation: "h", name, y: ["wall time"], x: [(fm.split_s[k] || 0) / DAY],
    marker: { color },
    customdata: [[fmt.sig((fm.split_s[k] || 0) / DAY), fmt.percent((fm.split_s[k] || 0) / total)]],
    hovertemplate: `${name}: %{customdata[0]} days (%{customdata[1]})<extra></extra>`,
  })), {
    barmode: "stack", height: 200, margin: { l: 80, r: 20, t: 40, b: 40 },
    title: { text: "Where the all-in wall time goes" }, xaxis: { title: { text: "days" } },
  });
  notes.replaceChildren(...fm.assumptions.map((x) => el("li", { text: `assumes: ${x}` })));
}
function renderPlan(r, req) {
  const t = r.training;
  const offering = req.price ? req.price.split(":")[0] : null;
  $("#plan-takeaway").textContent = planTakeaway(r);
  $("#plan-summary").textContent =
    `${r.model} on ${fmt.integer(r.chips)} × ${r.hardware}: global batch ${fmt.integer(r.global_batch)} × ${fmt.integer(r.seq_len)} tokens, ${r.precision}. ` +
    `${fmt.integer(r.plans_evaluated)} plans evaluated (${fmt.integer(r.plans_feasible)} fit in memory) in ${fmt.sig(r.seconds)} s; ` +
    `calibration: ${r.calibration.level} '${r.calibration.name}'.`;
  const line = $("#plan-training");
  line.replaceChildren();
  if (t) {
    line.append(
      `Training ${fmt.count(t.tokens)} tokens: `,
      el("b", { id: "plan-days", text: daysInterval(t.days, [t.seconds_interval[0] / DAY, t.seconds_interval[1] / DAY]) }),
    );
    if (isNum(t.cost_usd)) {
      line.append(", ", el("b", { id: "plan-cost", text: fmt.moneyInterval(t.cost_usd, ...t.cost_usd_interval) }),
        " at ", el("span", { id: "plan-price", text: priceText(offering, t.price) }));
    } else {
      line.append(" (no price chosen)");
    }
    if (isNum(t.energy_kwh)) line.append(`, ${fmt.sig(t.energy_kwh / 1000)} MWh at TDP`);
    line.append(" (ideal: every chip-hour trains).");
  }
  renderAllIn(t);
  $("#plan-notes").replaceChildren(...r.assumptions.map((a) => el("li", { text: a })));
  fillTable($("#plan-table"), [
    { label: "#", key: "rank", value: (p, i) => String(i + 1) },
    { label: "plan", key: "plan", cls: "l", value: (p) => p.description },
    { label: "step (s)", key: "step", value: (p) => fmt.sig(p.step_time_s), raw: (p) => p.step_time_s },
    { label: "tokens/s per chip (80%)", key: "tps", value: (p) => plainInterval(p.tokens_per_s_per_chip, p.tokens_per_s_per_chip_interval), raw: (p) => p.tokens_per_s_per_chip },
    { label: "MFU", key: "mfu", value: (p) => fmt.percent(p.mfu), raw: (p) => p.mfu },
    { label: "MFU causal", key: "mfu_causal", value: (p) => fmt.percent(p.mfu_causal), raw: (p) => p.mfu_causal },
    { label: "memory (GB)", key: "mem", value: (p) => fmt.sig(p.memory_bytes.total / 1e9), raw: (p) => p.memory_bytes.total },
  ], r.top);
  const labels = r.top.map((p, i) => `#${i + 1}`);
  const traces = TIME_TERMS.filter(([k]) => r.top.some((p) => p.time_s[k] > 0)).map(([k, name]) => ({
    type: "bar", name, x: labels, y: r.top.map((p) => p.time_s[k]),
    customdata: r.top.map((p) => [p.description, fmt.sig(p.time_s[k])]),
    hovertemplate: `${name}: %{customdata[1]} s<br>%{customdata[0]}<extra></extra>`,
  }));
  plot("plan-breakdown", traces, {
    barmode: "stack", title: { text: "Step time by term, best plans" },
    yaxis: { title: { text: "time per step (s)" }, ticksuffix: " s" }, xaxis: { title: { text: "plan (rank in the table)" } },
  });
  renderPareto(r);
  const best = r.best;
  fillTable($("#plan-memory"), [
    { label: "category", cls: "l", value: (m) => m[1] },
    { label: "GB", key: "mem", value: (m) => fmt.sig(best.memory_bytes[m[0]] / 1e9), raw: (m) => best.memory_bytes[m[0]] / 1e9 },
  ], [...MEMORY_TERMS, ["total", "total"]]);
}
function renderPareto(r) {
  const front = r.pareto || [];
  const div = $("#plan-pareto");
  if (!front.length) {
    Plotly.purge(div);
    div.replaceChildren(el("p", { class: "muted", style: "padding:1rem", text: r.training ? "No chip count in ¼× to 4× has a feasible plan." : "Give tokens to train to see the time-vs-cost front over ¼× to 4× the chips." }));
    return;
  }
  div.replaceChildren();
  // the front is built on the all-in figures (failures, restarts, checkpoints); hover adds the ideal ones
  const priced = front.every((p) => isNum(frontCost(p)));
  const t = r.training;
  const yOf = (p) => (priced ? frontCost(p) : (p.chips * frontSeconds(p)) / 3600);
  const idealY = (p) => (priced ? p.cost_usd : (p.chips * p.seconds) / 3600);
  const show = priced ? fmt.money : (v) => `${fmt.count(v)} chip-h`;
  const hover = "%{text}: %{customdata[1]}, %{customdata[2]} all-in<br>ideal %{customdata[3]}, %{customdata[4]}<br>%{customdata[0]}<extra></extra>";
  const traces = [{
    type: "scatter", mode: "lines+markers+text", name: "Pareto front, all-in (¼× to 4× the chips)",
    x: front.map((p) => frontSeconds(p) / DAY), y: front.map(yOf),
    text: front.map((p) => `${fmt.integer(p.chips)} chips`), cliponaxis: false,
    textposition: front.map((p, i) => (i % 2 ? "bottom center" : "top center")), // neighbours apart
    customdata: front.map((p) => [p.plan, fmt.days(frontSeconds(p)), show(yOf(p)), fmt.days(p.seconds), show(idealY(p))]),
    marker: { size: 9, color: "#2f5fd0" }, hovertemplate: hover,
  }];
  const ys = front.map(yOf);
  let days = 0;
  if (t) {
    const run = allInRun(t);
    const y = priced ? run.cost_usd : run.chip_hours;
    const ideal = priced ? t.cost_usd : t.chip_hours;
    days = run.seconds / DAY;
    ys.push(y);
    traces.push({
      type: "scatter", mode: "markers", name: `requested: ${fmt.integer(r.chips)} chips`,
      x: [days], y: [y], text: [`${fmt.integer(r.chips)} chips (requested)`],
      customdata: [[r.best.description, fmt.days(run.seconds), show(y), fmt.days(t.seconds), show(ideal)]], hovertemplate: hover,
      marker: { size: 14, symbol: "diamond-open", color: "#e8590c", line: { width: 2 } },
    });
  }
  const [lo, hi] = extent(ys);
  plot("plan-pareto", traces, {
    title: { text: "Time vs cost across chip counts (Pareto front, all-in)" },
    xaxis: { title: { text: "days to train (all-in)" }, rangemode: "tozero", ...ticks(0, Math.max(...front.map((p) => frontSeconds(p) / DAY), days) * 1.05, (v) => `${fmt.sig(v)} d`) },
    yaxis: { title: { text: priced ? "cost to train, all-in (USD)" : "chip-hours, all-in (no price)" }, rangemode: "tozero", ...ticks(lo, hi * 1.1, show) },
  });
}

// -- Compare -----------------------------------------------------------------------------------
function compareRequest() {
  const f = $("#compare-form");
  const hardware = $$("#compare-chips input:checked").map((i) => i.value);
  if (!hardware.length) throw new FieldError(["hardware"], "pick at least one chip");
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
async function submitCompare(signal) {
  const req = compareRequest();
  const p = formParams($("#compare-form"), COMPARE_FIELDS);
  p.set("hardware", req.hardware.join(","));
  setHash("compare", p);
  const r = await postJson("/api/compare", req, signal);
  state.results.compare = r;
  renderCompare(r);
}
function errorBars(rows, key, ivKey) {
  return {
    type: "data", symmetric: false, visible: true, thickness: 1.5, width: 4,
    array: rows.map((r) => (r[ivKey] && isNum(r[key]) ? r[ivKey][1] - r[key] : 0)),
    arrayminus: rows.map((r) => (r[ivKey] && isNum(r[key]) ? r[key] - r[ivKey][0] : 0)),
  };
}
// A bar axis from zero that a few very long bars do not squash: past 2.5 times the
// 75th-percentile value the axis stops, and each bar cut there says its value ("1,720 d →").
function cappedAxis(rows, key, ivKey, show) {
  const values = rows.map((x) => x[key]).filter(isNum).sort((a, b) => a - b);
  if (!values.length) return { axis: {}, notes: [] };
  const tops = rows.map((x) => (x[ivKey] ? x[ivKey][1] : x[key])).filter(isNum);
  const p75 = values[Math.floor(0.75 * (values.length - 1))];
  const cut = values[values.length - 1] > 2.5 * p75 ? 2.5 * p75 : null;
  const hi = cut === null ? Math.max(...tops) * 1.05 : cut;
  const notes = cut === null ? [] : rows.filter((x) => isNum(x[key]) && x[key] > cut).map((x) => ({
    x: cut, y: x.hardware, xanchor: "right", showarrow: false, text: `${show(x[key])} →`,
    font: { size: 11, color: "#1d2330" }, bgcolor: "rgba(255,255,255,0.85)", name: "cut",
  }));
  return { axis: { range: [0, hi], ...ticks(0, hi, show) }, notes };
}
function compareTakeaway(r) {
  const ok = r.rows.filter((x) => x.feasible);
  if (!ok.length) return `No plan fits on any of the ${r.rows.length} chips: use more chips or a smaller batch.`;
  const fastest = ok.reduce((a, b) => (b.days < a.days ? b : a));
  const priced = ok.filter((x) => isNum(x.cost_usd));
  const parts = [`Fastest: ${fastest.hardware}, ${fmt.days(fastest.days * DAY)}${isNum(fastest.cost_usd) ? ` for ${fmt.money(fastest.cost_usd)}` : ""}.`];
  if (priced.length) {
    const cheapest = priced.reduce((a, b) => (b.cost_usd < a.cost_usd ? b : a));
    if (cheapest !== fastest) {
      const vs = isNum(fastest.cost_usd) ? ` (${fmt.percent(1 - cheapest.cost_usd / fastest.cost_usd)} less than the fastest)` : "";
      parts.push(`Cheapest: ${cheapest.hardware}, ${fmt.money(cheapest.cost_usd)}${vs}, in ${ratioWords(cheapest.days / fastest.days)} (${fmt.days(cheapest.days * DAY)}).`);
    } else parts.push("It is also the cheapest.");
  }
  const unpriced = ok.length - priced.length;
  if (unpriced) parts.push(`${unpriced} of ${ok.length} chips have no public ${priceType(r.price_type)} price.`);
  const infeasible = r.rows.length - ok.length;
  if (infeasible) parts.push(`${infeasible} fit no plan.`);
  return parts.join(" ");
}
function renderCompare(r) {
  // one order for both charts and the table: fastest first, chips that fit nothing last
  const rows = r.rows;
  const names = rows.map((x) => x.hardware);
  $("#compare-takeaway").textContent = compareTakeaway(r);
  $("#compare-summary").textContent =
    `${r.model} on ${fmt.integer(r.chips)} chips of each kind: global batch ${fmt.integer(r.global_batch)} × ${fmt.integer(r.seq_len)} tokens, ${r.precision}; ` +
    `${fmt.count(r.tokens)} tokens to train. Prices: each chip at the cheapest of its offerings' newest ${priceType(r.price_type)} price ` +
    `(the offering is named in the table; the Plan page prices the one offering you choose, so its cost can differ). Bars: best plan; error bars: 80% interval.`;
  const height = Math.max(300, 26 * rows.length + 140);
  for (const id of ["compare-days", "compare-cost"]) $(`#${id}`).style.height = `${height}px`;
  const byVendor = (key, iv, missing) => {
    const vendors = [...new Set(rows.map((x) => x.vendor))];
    return vendors.map((v) => {
      const mine = rows.filter((x) => x.vendor === v && isNum(x[key]));
      return {
        type: "bar", orientation: "h", name: v, legendgroup: v, y: mine.map((x) => x.hardware), x: mine.map((x) => x[key]),
        marker: { color: vendorColor(v) }, error_x: { ...errorBars(mine, key, iv), color: "#333" },
        customdata: mine.map((x) => [x.plan, key === "days" ? daysInterval(x.days, x.days_interval) : `${fmt.moneyInterval(x.cost_usd, ...(x.cost_usd_interval || []))} at ${priceText(x.offering, x.training && x.training.price)}`]),
        hovertemplate: "%{y}: %{customdata[1]}<br>%{customdata[0]}<extra></extra>",
      };
    }).concat(missing);
  };
  const notes = (key, text) => rows.filter((x) => !isNum(x[key])).map((x) => ({
    x: 0, y: x.hardware, xanchor: "left", showarrow: false, font: { color: "#667085", size: 11 },
    text: x.feasible ? text : "no plan fits",
  }));
  const yaxis = { categoryorder: "array", categoryarray: [...names].reverse(), automargin: true, type: "category" };
  const dayText = (v) => `${fmt.sig(v)} d`;
  const daysAxis = cappedAxis(rows, "days", "days_interval", dayText);
  plot("compare-days", byVendor("days", "days_interval", []), {
    title: { text: "Days to train" }, yaxis, barmode: "overlay",
    xaxis: { title: { text: "days to train" }, ...daysAxis.axis },
    annotations: [...notes("days", "no plan fits"), ...daysAxis.notes], legend: { orientation: "h", y: -0.15, title: { text: "vendor " } },
    margin: { l: 20, r: 20, t: 50, b: 90 },
  });
  const anyPrice = rows.some((x) => isNum(x.cost_usd));
  const costAxis = cappedAxis(rows, "cost_usd", "cost_usd_interval", fmt.money);
  plot("compare-cost", byVendor("cost_usd", "cost_usd_interval", []), {
    title: { text: anyPrice ? `Cost to train (USD, ${priceType(r.price_type)})` : `Cost to train: no chip has a public ${priceType(r.price_type)} price` },
    yaxis, barmode: "overlay",
    xaxis: { title: { text: "cost to train (USD)" }, ...(anyPrice ? costAxis.axis : {}) },
    annotations: [...notes("cost_usd", "no public price"), ...costAxis.notes], legend: { orientation: "h", y: -0.15, title: { text: "vendor " } },
    margin: { l: 20, r: 20, t: 50, b: 90 },
  });
  fillTable($("#compare-table"), [
    { label: "chip", key: "chip", cls: "l", value: (x) => x.hardware },
    { label: "best plan", key: "plan", cls: "l wrap", value: (x) => (x.feasible ? x.plan : x.reason) },
    { label: "tokens/s per chip", key: "tps", value: (x) => fmt.sig(x.tokens_per_s_per_chip), raw: (x) => x.tokens_per_s_per_chip },
    { label: "MFU", key: "mfu", value: (x) => fmt.percent(x.mfu), raw: (x) => x.mfu },
    { label: "days (80%)", key: "days", value: (x) => plainInterval(x.days, x.days_interval), raw: (x) => x.days },
    { label: "cost (80%)", key: "cost", value: (x) => (isNum(x.cost_usd) ? fmt.moneyInterval(x.cost_usd, ...x.cost_usd_interval) : x.feasible ? "no public price" : DASH), raw: (x) => x.cost_usd },
    { label: "priced at", key: "price", cls: "l wrap", value: (x) => (x.offering && x.training && x.training.price ? priceText(x.offering, x.training.price) : DASH), raw: (x) => x.offering },
    { label: "all-in (goodput)", key: "all_in", cls: "wrap", value: allInCell, raw: (x) => x.all_in_days },
    { label: "MWh", key: "mwh", value: (x) => (isNum(x.energy_kwh) ? fmt.sig(x.energy_kwh / 1000) : DASH), raw: (x) => x.energy_kwh / 1000 },
  ], rows, (x) => (x.feasible ? null : "infeasible"));
  $("#compare-note").textContent = `${r.interval}. Prices: ${r.price_rule}. Energy: ${r.energy_note}. `
    + "All-in: with failures, restarts and checkpoints (* = the chip family's failure rate is a prior: none is published at scale).";
}

// "47.1 days, $11.3M (goodput 98.7%*)": the all-in figures of a compare row; * = prior rate
function allInCell(x) {
  if (!isNum(x.goodput)) return DASH;
  const prior = x.training.all_in.failure_model.reliability.prior ? "*" : "";
  const days = isNum(x.all_in_days) ? `${fmt.sig(x.all_in_days)} days` : "never finishes";
  const cost = isNum(x.all_in_cost_usd) ? `, ${fmt.money(x.all_in_cost_usd)}` : "";
  return `${days}${cost} (goodput ${fmt.percent(x.goodput)}${prior})`;
}

// -- Decide ------------------------------------------------------------------------------------
async function loadShipped() {
  const name = $("#decide-shipped").value;
  if (!name) return;
  const text = state.scenarioText[name] || await api(`/api/scenarios/${encodeURIComponent(name)}`);
  state.scenarioText[name] = text;
  $("#decide-yaml").value = text;
}
async function submitDecide(signal) {
  const f = $("#decide-form");
  let yaml = $("#decide-yaml").value;
  if (!yaml.trim()) {
    await loadShipped();
    yaml = $("#decide-yaml").value;
  }
  const q = new URLSearchParams();
  const samples = numberInput(f, "samples", false);
  const seed = numberInput(f, "seed", false);
  if (samples !== null) q.set("samples", String(samples));
  if (seed !== null) q.set("seed", String(seed));
  if (f.elements.objective.value) q.set("objective", f.elements.objective.value);
  const shipped = $("#decide-shipped").value;
  const link = new URLSearchParams(q);
  if (state.scenarioText[shipped] === yaml) link.set("scenario", shipped);
  else link.set("yaml", await pack(yaml));
  link.set("metric", $("#decide-metric").value);
  setHash("decide", link);
  const r = await api(`/api/decide?${q}`, {
    method: "POST", headers: { "content-type": "application/yaml" }, body: yaml, signal,
  });
  state.results.decide = r;
  renderDecision(r);
}
const METRICS = {
  npv_usd: { show: fmt.money, axis: "value to existing holders (USD)" },
  cost_usd: { show: fmt.money, axis: "compute + switching cost (USD)" },
  compute_delivered_flop: { show: fmt.flop, axis: "compute delivered (FLOP)" },
  ownership_sold: { show: fmt.percent, axis: "ownership sold (%)" },
  runway_months: { show: (x) => `${fmt.sig(x)} mo`, axis: "runway (months)" },
};
function objectiveText(obj, x) {
  return obj === "compute" ? fmt.flop(x) : fmt.money(x);
}
function renderDecision(r) {
  const v = r.verdict;
  $("#decide-verdict").replaceChildren(
    el("div", {}, el("b", { id: "decide-winner", text: v.label }), " — P(best) ",
      el("b", { id: "decide-pbest", text: fmt.percent(v.probability) }),
      `; runner-up ${v.runner_up}; ${fmt.integer(r.run.samples)} samples, seed ${r.run.seed}, objective ${r.objective}`),
    el("p", { id: "decide-sentence", text: v.sentence }),
  );
  const obj = r.objective;
  const m = (o, k) => o.metrics[k];
  fillTable($("#decide-options"), [
    { label: "option", key: "option", cls: "l", value: (o) => o.id },
    { label: "P(best)", key: "p_best", value: (o) => fmt.percent(o.p_best), raw: (o) => o.p_best },
    { label: `E[${obj === "npv" ? "value" : obj}] ± se`, key: "expected", value: (o) => `${objectiveText(obj, o.expected_objective)}${isNum(o.objective_se) ? ` ± ${objectiveText(obj, o.objective_se)}` : ""}`, raw: (o) => o.expected_objective },
    { label: "value to holders, median (5-95%)", key: "npv", value: (o) => fmt.moneyInterval(m(o, "npv_usd").p50, m(o, "npv_usd").p5, m(o, "npv_usd").p95), raw: (o) => m(o, "npv_usd").p50 },
    { label: "cost median", key: "cost", value: (o) => fmt.money(m(o, "cost_usd").p50), raw: (o) => m(o, "cost_usd").p50 },
    { label: "ownership sold", key: "own", value: (o) => fmt.percent(m(o, "ownership_sold").p50), raw: (o) => m(o, "ownership_sold").p50 },
    { label: "delay", key: "delay", value: (o) => (m(o, "delay_months") ? `${fmt.sig(m(o, "delay_months").p50)} mo` : DASH), raw: (o) => (m(o, "delay_months") ? m(o, "delay_months").p50 : null) },
    { label: "runway", key: "runway", value: (o) => `${fmt.sig(m(o, "runway_months").p50)} mo`, raw: (o) => m(o, "runway_months").p50 },
    { label: "P(cash out)", value: (o) => fmt.percent(o.p_cash_out), raw: (o) => o.p_cash_out },
    { label: "E[regret]", value: (o) => objectiveText(obj, o.expected_regret), raw: (o) => o.expected_regret },
  ], r.options, (o) => (o.id === v.option ? "winner" : null));
  renderHistogram();
  renderTornado(r);
  const [a, b] = r.break_even_pair;
  $("#decide-be-title").textContent = `Break-even values (where ${a} and ${b} are worth the same on average)`;
  const beShow = (e, x) => {
    if (!isNum(x)) return DASH;
    if (e.unit === "USD") return fmt.money(x);
    if (e.unit === "USD/chip-hour") return `$${fmt.sig(x)}/chip-hour`;
    return `${fmt.sig(x)} ${e.unit}`;
  };
  fillTable($("#decide-breakeven"), [
    { label: "input", cls: "l", value: (e) => e.label },
    { label: "break-even", key: "value", value: (e) => beShow(e, e.value), raw: (e) => e.value },
    { label: "median now", value: (e) => beShow(e, e.base), raw: (e) => e.base },
    { label: "note", cls: "l wrap", value: (e) => e.note },
  ], r.break_even);
  $("#decide-notes").replaceChildren(...r.notes.map((n) => el("li", { text: n })));
}
const PALETTE = ["#2f5fd0", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00", "#1098ad", "#c92a2a", "#5c940d"];
// Small multiples: one row per option on a shared axis; the first and last bins also hold
// everything beyond the 0.5th and 99.5th percentiles, and say so.
function renderHistogram() {
  const r = state.results.decide;
  if (!r) return;
  const metric = $("#decide-metric").value;
  const h = r.distributions[metric];
  if (!h) return;
  const spec = METRICS[metric];
  const centers = h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2);
  const width = h.edges[1] - h.edges[0];
  const options = Object.keys(h.counts);
  const n = options.length;
  const gap = 0.04;
  const rowH = (1 - gap * (n - 1)) / n;
  const layout = {
    title: { text: `Outcome per option: ${spec.axis}` }, showlegend: false, bargap: 0.05,
    margin: { l: 80, r: 20, t: 50, b: 60 }, annotations: [],
    xaxis: { anchor: `y${n === 1 ? "" : n}`, title: { text: spec.axis }, range: [h.edges[0] - width, h.edges[h.edges.length - 1] + width], ...ticks(h.edges[0], h.edges[h.edges.length - 1], spec.show) },
  };
  const traces = options.map((o, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    const top = 1 - i * (rowH + gap);
    layout[`yaxis${axis}`] = {
      domain: [top - rowH, top], title: { text: o, font: { size: 11 } }, rangemode: "tozero", showticklabels: false,
      fixedrange: true,
    };
    const counts = h.counts[o];
    const ymax = Math.max(...counts);
    const last = counts.length - 1;
    if (counts[0] > 0) {
      layout.annotations.push({ xref: "x", yref: `y${axis}`, x: h.edges[0], y: counts[0], xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 10 }, text: `≤${spec.show(h.edges[0])}` });
    }
    if (counts[last] > 0) {
      layout.annotations.push({ xref: "x", yref: `y${axis}`, x: h.edges[h.edges.length - 1], y: counts[last], xanchor: "right", yanchor: "bottom", showarrow: false, font: { size: 10 }, text: `≥${spec.show(h.edges[h.edges.length - 1])}` });
    }
    layout[`yaxis${axis}`].range = [0, ymax * 1.35];
    return {
      type: "bar", name: o, x: centers, y: counts, width, xaxis: "x", yaxis: `y${axis}`,
      marker: { color: PALETTE[i % PALETTE.length] },
      customdata: centers.map((c, k) => [k === 0 ? `≤ ${spec.show(h.edges[1])}` : k === last ? `≥ ${spec.show(h.edges[k])}` : `${spec.show(h.edges[k])} to ${spec.show(h.edges[k + 1])}`]),
      hovertemplate: `${o}: %{y} samples at %{customdata[0]}<extra></extra>`,
    };
  });
  $("#decide-hist").style.height = `${Math.max(380, 110 * n + 110)}px`;
  plot("decide-hist", traces, layout);
}
function renderTornado(r) {
  const rows = r.sensitivity.slice(0, 10).reverse();
  const [a, b] = r.sensitivity_context.pair;
  const base = r.sensitivity_context.base;
  const labels = rows.map((e) => fmt.humanLabel(e.label));
  const show = (x) => objectiveText(r.objective, x);
  const all = rows.flatMap((e) => [e.low, e.high]).concat([base]);
  const lo = Math.min(...all), hi = Math.max(...all);
  const side = (key, name, color) => ({
    type: "bar", orientation: "h", name, y: labels, x: rows.map((e) => e[key] - base), base,
    marker: { color }, customdata: rows.map((e) => [show(e[key])]),
    hovertemplate: `%{y}: E[${a} − ${b}] = %{customdata[0]}<extra></extra>`,
  });
  plot("decide-tornado", [
    side("low", "input at its p10 (event off)", "#2f5fd0"),
    side("high", "input at its p90 (event on)", "#e8590c"),
  ], {
    barmode: "overlay", title: { text: `What moves E[${a} − ${b}]` },
    margin: { l: 20, r: 20, t: 50, b: 60 }, yaxis: { automargin: true },
    xaxis: { title: { text: window.innerWidth < 600 ? (r.objective === "compute" ? "FLOP" : "USD") : `E[${a} − ${b}] (${r.objective === "compute" ? "FLOP" : "USD"})` }, ...ticks(lo, hi, show, window.innerWidth < 600 ? 3 : 5) },
    shapes: [{ type: "line", x0: base, x1: base, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#666" } }],
  });
}

// -- Validate ----------------------------------------------------------------------------------
async function submitValidate(signal) {
  const r = await api("/api/validate", { signal });
  state.results.validate = r;
  history.replaceState(null, "", "#validate");
  renderValidate(r);
}
function renderValidate(r) {
  const s = r.summary.all;
  $("#validate-summary").replaceChildren(
    `${s.n} runs predicted (${r.summary.rows_skipped} not modelled): median |error| `,
    el("b", { id: "validate-median", text: fmt.percent(s.median_abs_error) }),
    `, p90 |error| ${fmt.percent(s.p90_abs_error)}, mean signed ${fmt.signedPercent(s.mean_signed_error)}, ${fmt.percent(s.interval_coverage)} of measurements inside the 80% interval.`,
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
      type: "data", symmetric: false, thickness: 1, width: 0, color: vendorColor(vendor),
      array: rows.map((x) => x.interval[1] - x.predicted_tokens_per_s_per_chip),
      arrayminus: rows.map((x) => x.predicted_tokens_per_s_per_chip - x.interval[0]),
    },
    text: rows.map((x) => `${x.id} (${x.accelerator})<br>measured ${fmt.sig(x.measured_tokens_per_s_per_chip)}, predicted ${fmt.sig(x.predicted_tokens_per_s_per_chip)} tokens/s per chip<br>error ${fmt.signedPercent(x.error)}`),
    hovertemplate: "%{text}<extra></extra>",
    marker: { color: vendorColor(vendor), size: 8, opacity: 0.85 },
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
    legend: { orientation: "h", y: -0.15 }, margin: { l: 80, r: 20, t: 50, b: 90 },
  });
  const groups = [["all", s], ...Object.entries(r.summary.by_accelerator).map(([k, v]) => [`chip ${k}`, v]),
    ...Object.entries(r.summary.by_source).map(([k, v]) => [`source ${k}`, v])];
  fillTable($("#validate-groups"), [
    { label: "group", cls: "l", value: (g) => g[0] },
    { label: "n", key: "n", value: (g) => String(g[1].n) },
    { label: "median |error|", key: "median", value: (g) => fmt.percent(g[1].median_abs_error), raw: (g) => g[1].median_abs_error },
    { label: "p90 |error|", value: (g) => fmt.percent(g[1].p90_abs_error), raw: (g) => g[1].p90_abs_error },
    { label: "mean signed", value: (g) => fmt.signedPercent(g[1].mean_signed_error), raw: (g) => g[1].mean_signed_error },
    { label: "in interval", value: (g) => fmt.percent(g[1].interval_coverage), raw: (g) => g[1].interval_coverage },
  ], groups);
  fillTable($("#validate-rows"), [
    { label: "id", key: "id", cls: "l", value: (x) => x.id },
    { label: "chip", cls: "l", value: (x) => x.accelerator },
    { label: "measured tokens/s per chip", key: "measured", value: (x) => fmt.sig(x.measured_tokens_per_s_per_chip), raw: (x) => x.measured_tokens_per_s_per_chip },
    { label: "predicted (80%)", key: "predicted", value: (x) => plainInterval(x.predicted_tokens_per_s_per_chip, x.interval), raw: (x) => x.predicted_tokens_per_s_per_chip },
    { label: "error", key: "error", value: (x) => fmt.signedPercent(x.error), raw: (x) => x.error },
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
  window.addEventListener("hashchange", () => applyHash().catch((err) => setStatus(parseHash().tab, `error: ${err.message}`, "error")));
  $("#plan-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("plan", submitPlan); });
  $("#plan-form").elements.hardware.addEventListener("change", fillPrices);
  $("#compare-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("compare", submitCompare); });
  $("#compare-all").addEventListener("click", () => $$("#compare-chips input").forEach((i) => { i.checked = true; }));
  $("#compare-none").addEventListener("click", () => $$("#compare-chips input").forEach((i) => { i.checked = false; }));
  $("#decide-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("decide", submitDecide); });
  $("#decide-load").addEventListener("click", () => loadShipped().catch((err) => setStatus("decide", `error: ${err.message}`, "error")));
  $("#decide-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    file.text().then((text) => { $("#decide-yaml").value = text; setStatus("decide", `loaded ${file.name}`); });
  });
  $("#decide-metric").addEventListener("change", () => {
    renderHistogram();
    const { tab, params } = parseHash();
    if (tab === "decide" && params.toString()) { params.set("metric", $("#decide-metric").value); setHash("decide", params); }
  });
  $("#validate-form").addEventListener("submit", (e) => { e.preventDefault(); runForm("validate", submitValidate); });
  for (const form of $$("form")) {
    form.addEventListener("input", (e) => { e.target.classList.remove("invalid"); e.target.removeAttribute("aria-invalid"); });
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  wire();
  showTab(parseHash().tab);
  try {
    await loadCatalog();
    document.body.dataset.ready = "1";
    await applyHash();
  } catch (err) {
    setStatus(parseHash().tab, `error loading the page: ${err.message}`, "error");
  }
});

// -- Plan: "Download config" (POST /api/export with the plan form's job) ---------------------------
async function downloadConfig() {
  const status = $("#plan-export-status");
  const req = planRequest();
  const body = {
    framework: $("#plan-framework").value,
    model: req.model, hardware: req.hardware, chips: req.chips,
    global_batch: req.global_batch, seq: req.seq, precision: req.precision,
  };
  status.textContent = "exporting…";
  status.classList.remove("error");
  try {
    const r = await api("/api/export", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const url = URL.createObjectURL(new Blob([r.content], { type: r.media_type }));
    const a = el("a", { href: url, download: r.filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    status.textContent = `${r.filename}: ${r.plan}` + (r.notes.length ? ` (${r.notes.join("; ")})` : "");
  } catch (err) {
    status.textContent = `error: ${err.message}`;
    status.classList.add("error");
  }
}
document.addEventListener("DOMContentLoaded", () => {
  $("#plan-download").addEventListener("click", downloadConfig);
});
