// Charts drawn as SVG from the API's own numbers: no chart library, nothing fetched.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function label(x, y, text, anchor) {
  return svg("text", { x, y, "text-anchor": anchor || "start" }, String(text));
}

// A feature's histogram: baseline (training) and current (served) shares per bin or category.
function histogramChart(histogram) {
  const baseline = histogram.baseline || [], current = histogram.current || [];
  const names = histogram.categories
    ? histogram.categories.map(String)
    : baseline.map((_, i) => binName(histogram.edges, i));
  const width = 340, height = 150, bottom = 28, left = 8;
  const top = Math.max(...baseline, ...current, 0.01);
  const slot = (width - left) / Math.max(names.length, 1);
  const bar = Math.max((slot - 4) / 2, 1);
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "histogram" });
  chart.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  names.forEach((name, i) => {
    const x = left + i * slot;
    for (const [k, shares] of [["baseline", baseline], ["current", current]]) {
      const h = ((shares[i] || 0) / top) * (height - bottom - 10);
      const rect = svg("rect", { x: x + (k === "current" ? bar : 0), y: height - bottom - h, width: bar, height: h, class: k });
      rect.append(svg("title", {}, `${name}: ${k} ${(100 * (shares[i] || 0)).toFixed(1)} %`));
      chart.append(rect);
    }
    if (histogram.categories && names.length <= 6) chart.append(label(x + slot / 2, height - bottom + 12, name.slice(0, 10), "middle"));
  });
  if (!histogram.categories && names.length > 1) {
    chart.append(label(left, height - bottom + 12, names[0]));
    chart.append(label(width, height - bottom + 12, names[names.length - 1], "end"));
  }
  return chart;
}

// Bin i of a numeric histogram: the edges are the inner boundaries between bins.
function binName(edges, i) {
  const inner = edges || [];
  if (i === 0) return inner.length ? `< ${short(inner[0])}` : "all";
  if (i >= inner.length) return `≥ ${short(inner[inner.length - 1])}`;
  return `${short(inner[i - 1])} to ${short(inner[i])}`;
}

function short(value) {
  return typeof value === "number" ? Number(value.toPrecision(3)).toString() : String(value);
}

// A run's steps on one time line: each bar ends when the step recorded its end and lasts what its Lambda took.
function timelineChart(run, steps) {
  const start = Date.parse(run.started_at);
  const end = Math.max(...steps.map((s) => Date.parse(s.at)), Date.parse(run.ended_at || run.updated_at), start + 1);
  const width = 700, row = 22, left = 110, height = row * steps.length + 24;
  const scale = (t) => left + ((t - start) / (end - start)) * (width - left - 60);
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "timeline" });
  steps.forEach((step, i) => {
    const y = i * row + 4;
    const finished = Date.parse(step.at);
    const began = step.seconds ? Math.max(start, finished - step.seconds * 1000) : finished;
    chart.append(label(0, y + 13, step.name));
    const x = scale(began);
    const rect = svg("rect", { x, y, width: Math.max(scale(finished) - x, 2), height: row - 8, class: step.failed ? "failed-bar" : "bar" });
    rect.append(svg("title", {}, `${step.name}: ${step.seconds ? step.seconds.toFixed(2) + " s" : "recorded"}`));
    chart.append(rect);
    chart.append(label(Math.max(scale(finished) + 4, x + 6), y + 13, step.seconds ? `${step.seconds.toFixed(1)} s` : ""));
  });
  chart.append(label(left, height - 4, "0 s"));
  chart.append(label(width - 60, height - 4, `${((end - start) / 1000).toFixed(1)} s`));
  return chart;
}

// Each arm's mean with its confidence interval, on one shared axis.
function intervalChart(arms) {
  const entries = Object.entries(arms || {}).filter(([, a]) => a.interval && a.interval.length === 2);
  const width = 420, row = 28, left = 90, height = row * entries.length + 24;
  const values = entries.flatMap(([, a]) => a.interval);
  const low = Math.min(...values, 0), high = Math.max(...values, 1e-9);
  const scale = (v) => left + ((v - low) / (high - low || 1)) * (width - left - 20);
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "intervals" });
  entries.forEach(([name, arm], i) => {
    const y = i * row + 14;
    chart.append(label(0, y + 4, `${name} (n=${arm.n})`));
    chart.append(svg("line", { x1: scale(arm.interval[0]), y1: y, x2: scale(arm.interval[1]), y2: y, class: "interval" }));
    if (arm.mean !== null && arm.mean !== undefined) chart.append(svg("circle", { cx: scale(arm.mean), cy: y, r: 4, class: "current" }));
  });
  chart.append(label(left, height - 2, short(low)));
  chart.append(label(width - 20, height - 2, short(high), "end"));
  return chart;
}

// The verdicts of the last checks, oldest to newest, one square each.
function verdictStrip(recent) {
  const checks = [...(recent || [])].reverse();
  const size = 18, width = Math.max(checks.length * (size + 4), 20);
  const chart = svg("svg", { width, height: size + 2, viewBox: `0 0 ${width} ${size + 2}`, role: "img", class: "verdicts" });
  const colour = { drift: "#cf222e", no_drift: "#1a7f37" };
  checks.forEach((check, i) => {
    const verdict = String(check.drift).toLowerCase().replace(/[^a-z0-9]+/g, "_");
    const square = svg("rect", { x: i * (size + 4), y: 1, width: size, height: size, rx: 3, fill: colour[verdict] || "#8c959f", class: `verdict ${verdict}` });
    square.append(svg("title", {}, `${check.checked_at}: ${check.drift}, performance ${check.performance}`));
    chart.append(square);
  });
  return chart;
}

// A value over the last checks, oldest to newest: a whisker for its interval, a dot for the value,
// a ring for a second value (the realized metric once labels came back), a dashed line at `reference`.
function seriesChart(points, reference) {
  const width = 420, height = 140, left = 44, bottom = 18, slot = (width - left) / Math.max(points.length, 1);
  const values = points.flatMap((p) => [p.value, p.other, ...(p.interval || [])]).concat(reference ?? []).filter((v) => typeof v === "number");
  const low = Math.min(...values), high = Math.max(...values);
  const y = (v) => 6 + (1 - (v - low) / (high - low || 1)) * (height - bottom - 12);
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "series" });
  if (typeof reference === "number") chart.append(svg("line", { x1: left, y1: y(reference), x2: width, y2: y(reference), class: "reference" }));
  points.forEach((point, i) => {
    const x = left + (i + 0.5) * slot;
    if (point.interval && point.interval.length === 2) {
      chart.append(svg("line", { x1: x, y1: y(point.interval[0]), x2: x, y2: y(point.interval[1]), class: "interval" }));
    }
    if (typeof point.value === "number") {
      const dot = svg("circle", { cx: x, cy: y(point.value), r: 4, class: "current" });
      dot.append(svg("title", {}, `${point.label}: ${short(point.value)}${point.interval ? ` [${point.interval.map(short).join(", ")}]` : ""}`));
      chart.append(dot);
    }
    if (typeof point.other === "number") chart.append(svg("circle", { cx: x, cy: y(point.other), r: 5, class: "realized" }));
  });
  chart.append(label(left - 4, 12, short(high), "end"));
  chart.append(label(left - 4, height - bottom, short(low), "end"));
  return chart;
}
