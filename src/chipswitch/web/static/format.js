// Numbers as people read them: the twin of chipswitch/format.py (same rules, same text).
// Three significant figures, K/M/B/T suffixes, "$" on money, percent for shares, an interval
// in its centre's unit: fmt.moneyInterval(25.7e6, 19.02e6, 35.75e6) === "$25.7M (19.0-35.8)".
"use strict";

const fmt = (() => {
  const DASH = "—";
  const DIGITS = 3;
  const SUFFIXES = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  const SUPER = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const finite = (x) => typeof x === "number" && Number.isFinite(x);
  const mag = (x) => Math.floor(Math.log10(Math.abs(x)));

  // x rounded to a multiple of 10**exponent, half away from zero
  const roundTo = (x, e) => (10 ** e === 0 ? x : Math.floor(Math.abs(x) / 10 ** e + 0.5) * 10 ** e * (x >= 0 ? 1 : -1));
  function decimalsFor(x, digits = DIGITS) {
    if (x === 0) return digits - 1;
    let m = mag(x);
    // rounding can carry into the next power of ten (999.7 -> 1000)
    if (roundTo(Math.abs(x), m - digits + 1) >= 10 ** (m + 1)) m += 1;
    return Math.max(0, digits - 1 - m);
  }
  function fixed(x, d) {
    const text = x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    return text.startsWith("-") && !text.replace(/[-0.,]/g, "") ? text.slice(1) : text;
  }
  const trim = (t) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
  function sig(x, digits = DIGITS) {
    if (!finite(x)) return DASH;
    if (x === 0) return "0";
    const d = decimalsFor(x, digits);
    const shown = d === 0 ? roundTo(x, mag(x) - digits + 1) : x;
    return trim(fixed(shown, d));
  }
  function scaleOf(x) {
    if (!finite(x) || x === 0) return [1, ""];
    const a = Math.abs(x);
    const rounded = roundTo(a, mag(a) - DIGITS + 1);
    for (const [size, suffix] of SUFFIXES) if (rounded >= size) return [size, suffix];
    return [1, ""];
  }
  function count(x) {
    if (!finite(x)) return DASH;
    const [size, suffix] = scaleOf(x);
    return `${sig(x / size)}${suffix}`;
  }
  const money = (x) => (finite(x) ? `${x < 0 ? "-" : ""}$${count(Math.abs(x))}` : DASH);
  function interval(x, lo, hi, show) {
    const head = show(x);
    if (!(finite(x) && finite(lo) && finite(hi))) return head;
    const [size] = scaleOf(Math.abs(x));
    const d = x !== 0 ? decimalsFor(Math.abs(x) / size) : DIGITS - 1;
    const sep = lo < 0 || hi < 0 ? " to " : "-";
    return `${head} (${fixed(lo / size, d)}${sep}${fixed(hi / size, d)})`;
  }
  function sigInterval(x, lo, hi) {
    if (!(finite(x) && finite(lo) && finite(hi))) return sig(x);
    const d = x !== 0 ? decimalsFor(Math.abs(x)) : DIGITS - 1;
    const [a, b] = d === 0 ? [sig(lo), sig(hi)] : [fixed(lo, d), fixed(hi, d)];
    return `${sig(x)} (${a}${lo < 0 || hi < 0 ? " to " : "-"}${b})`;
  }
  const percent = (x, digits = DIGITS) => (finite(x) ? `${sig(100 * x, digits)}%` : DASH);
  const signedPercent = (x, digits = DIGITS) => (finite(x) ? (x > 0 ? "+" : "") + percent(x, digits) : DASH);
  function flop(x) {
    if (!finite(x)) return DASH;
    if (x === 0) return "0 FLOP";
    let e = mag(x);
    let m = x / 10 ** e;
    if (Math.abs(Number(sig(m).replace(/,/g, ""))) >= 10) { e += 1; m = x / 10 ** e; }
    return `${sig(m)}×10${String(e).split("").map((c) => SUPER[c]).join("")} FLOP`;
  }
  // a scenario path as words: "gpu.price_usd_per_chip_hour" -> "gpu price ($/chip-hour)"
  const PATH_WORDS = [
    [/_usd_per_chip_hour$/, " ($/chip-hour)"], [/_usd_per_engineer_year$/, " ($/engineer-year)"],
    [/_usd_per_year$/, " ($/year)"], [/_usd_per_month$/, " ($/month)"], [/_usd$/, " ($)"],
    [/_per_year$/, " per year"], [/^r_inf$/, "long-run efficiency"], [/^r0$/, "starting efficiency"],
    [/^tau_months$/, "time constant (months)"], [/_months$/, " (months)"], [/_month$/, " (month)"],
    [/^p_close$/, "chance it closes"], [/^p_abandon$/, "chance the port is abandoned"],
    [/^take_or_pay_fraction$/, "take-or-pay share"],
  ];
  function humanLabel(label) {
    if (label.includes(" ") || !/[._]/.test(label)) return label;
    const words = [];
    for (let part of label.split(".")) {
      for (const [re, plain] of PATH_WORDS) part = part.replace(re, plain);
      part = part.replaceAll("_", " ");
      if (!words.length || words[words.length - 1] !== part) words.push(part);
    }
    return words.join(" ");
  }
  const integer = (x) => (finite(x) ? fixed(x, 0) : DASH);
  function days(seconds) {
    if (!finite(seconds)) return DASH;
    const t = sig(seconds / 86400);
    return t === "1" ? `${t} day` : `${t} days`;
  }
  return {
    DASH, finite, sig, sigInterval, count, humanLabel, money, interval, percent, signedPercent, flop, integer, days, scaleOf,
    moneyInterval: (x, lo, hi) => interval(x, lo, hi, money),
  };
})();
