// The console: one page per hash route, each drawn from the platform's API through this server's
// signing proxy (api/...). Values from the API are set as text, never parsed as HTML.
"use strict";

const page = document.getElementById("page");

class ApiError extends Error {
  constructor(status, body) {
    const detail = body && Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ")
      : body && body.message;
    super(`${status}: ${detail || "request failed"}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const response = await fetch(`api/${path}`, {
    method,
    headers: { "X-Mlops-Console": "1", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const get = (path) => api("GET", path);
const enc = encodeURIComponent;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "onclick") node.addEventListener("click", value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const link = (href, text) => el("a", { href }, text);
const badge = (text) => el("span", { class: `badge ${String(text).toLowerCase().replace(/[^a-z0-9]+/g, "_")}` }, text ?? "-");
const section = (title, ...children) => el("section", { class: "card" }, title ? el("h2", {}, title) : null, ...children);
const time = (iso) => (iso ? String(iso).replace("T", " ").slice(0, 19) : "-");
const num = (v) => (typeof v === "number" ? Number(v.toPrecision(4)).toString() : v ?? "-");
const metricsText = (m) => Object.entries(m || {}).map(([k, v]) => `${k} ${num(v)}`).join(", ") || "-";

function table(columns, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((cell) => el("td", {}, cell))))
      : el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, "none yet"))));
}

function fields(pairs) {
  return table(["", ""], pairs.map(([k, v]) => [el("strong", {}, k), v ?? "-"]));
}

// Asks before any change: what it does, and a reason for the audit trail.
function confirmAction(text, askReason) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-reason").value = "";
  document.getElementById("confirm-reason-label").hidden = !askReason;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? document.getElementById("confirm-reason").value : null), { once: true });
    dialog.showModal();
  });
}

async function act(text, method, path, body) {
  const reason = await confirmAction(text, Boolean(body));
  if (reason === null) return;
  try {
    await api(method, path, body ? body(reason) : undefined);
    flash = el("div", { class: "notice", role: "status" }, `Done: ${text}`);
  } catch (error) {
    flash = el("div", { class: "error", role: "alert" }, `${text} failed: ${error.message}`);
  }
  await route();
}

let flash = null;

// --- pages -------------------------------------------------------------------------------------------

async function modelsPage() {
  const { models } = await get("models");
  return [
    el("h1", {}, "Models"),
    table(["model", "champion", "challenger", "challenger share", "rollout", "last check", "drift", "performance"],
      models.map((m) => [
        link(`#/model/${enc(m.model)}`, m.model),
        m.champion ? `v${m.champion}` : "-",
        m.challenger ? `v${m.challenger}` : "-",
        `${m.challenger_percent} %`,
        m.rollout ? `v${m.rollout.version} since ${time(m.rollout.started_at)}` : "-",
        m.last_check ? time(m.last_check.checked_at) : "never",
        m.last_check ? link(`#/drift/${enc(m.model)}`, badge(m.last_check.drift)) : "-",
        m.last_check ? badge(m.last_check.performance) : "-",
      ])),
  ];
}

async function modelPage(model) {
  const [registered, versions, traffic, { models }] = await Promise.all([
    get(`models/${enc(model)}`), get(`models/${enc(model)}/versions`), get(`models/${enc(model)}/traffic`), get("models"),
  ]);
  const spec = registered.spec;
  const summary = models.find((m) => m.model === model) || {};
  const aliases = traffic.aliases, policy = traffic.policy;
  const actions = el("div", { class: "actions" },
    aliases.challenger ? el("button", { class: "primary", "data-action": "promote",
      onclick: () => act(`Promote v${aliases.challenger} of ${model} to champion`, "POST", `models/${enc(model)}/promote`) }, "Promote challenger") : null,
    el("button", { class: "danger", "data-action": "rollback",
      onclick: () => act(aliases.challenger ? `Drop challenger v${aliases.challenger} of ${model}` : `Restore the previous champion of ${model}`,
        "POST", `models/${enc(model)}/rollback`, (reason) => ({ reason })) }, "Roll back"));
  const decide = (v, decision) => el("button", { "data-action": `${decision}-${v.version}`,
    onclick: () => act(`${decision === "approve" ? "Approve" : "Reject"} v${v.version} of ${model}`, "POST",
      `models/${enc(model)}/versions/${v.version}/${decision}`, (reason) => ({ reason })) }, decision);
  const experiment = traffic.experiment;
  return [
    el("h1", {}, model, " ", el("span", { class: "muted" }, `spec v${registered.spec_version}`)),
    el("p", {}, link(`#/runs/${enc(model)}`, "Runs"), " · ", link(`#/drift/${enc(model)}`, "Drift"), " · ", link(`#/audit/${enc(model)}`, "Audit trail")),
    section("Traffic",
      fields([
        ["champion", aliases.champion ? badge(`v${aliases.champion}`) : "-"],
        ["challenger", aliases.challenger ? `v${aliases.challenger}` : "-"],
        ["challenger share", `${policy.challenger_percent} %`],
        ["shadow", policy.shadow ? `v${policy.shadow}` : "-"],
        ["rollout", summary.rollout ? `v${summary.rollout.version}, running since ${time(summary.rollout.started_at)}` : "none running"],
        ["revision", policy.revision],
      ]),
      actions),
    experiment ? section(`A/B test: v${experiment.champion_version} vs v${experiment.challenger_version}`,
      el("p", {}, badge(experiment.status), " ", experiment.reason),
      el("p", { class: "muted" }, `${experiment.design || "fixed"} design; ${experiment.metric}; ${experiment.required_per_arm} per arm planned; alpha ${experiment.alpha}, power ${experiment.power}`
        + (experiment.p_value != null ? `; p = ${num(experiment.p_value)}` : "")
        + (experiment.always_valid_p != null ? `; always-valid p = ${num(experiment.always_valid_p)}` : "")),
      intervalChart(experiment.arms),
      experimentHistory(experiment),
      experimentSegments(experiment)) : null,
    section("Versions", table(["version", "status", "metrics", "run", "data", "created", ""],
      [...versions.versions].sort((a, b) => b.version - a.version).map((v) => [
        `v${v.version}`, badge(v.status), metricsText(v.metrics), link(`#/run/${enc(v.run_id)}`, v.run_id), String(v.dataset_version).slice(0, 12),
        time(v.created_at), v.status === "pending_approval" ? el("span", { class: "actions" }, decide(v, "approve"), decide(v, "reject")) : "",
      ]))),
    section("Spec",
      fields([
        ["target", `${spec.target.name} (${spec.target.task}${spec.target.classes ? ": " + spec.target.classes.join(", ") : ""})`],
        ["algorithm", spec.training.algorithm],
        ["gates", JSON.stringify(spec.gates)],
        ["rollout", JSON.stringify(spec.rollout)],
      ]),
      table(["feature", "type", "details"], spec.features.map((f) => [f.name, f.type,
        [f.categories ? `${f.categories.length} categories` : null, f.minimum != null ? `min ${f.minimum}` : null,
          f.maximum != null ? `max ${f.maximum}` : null, f.nullable ? "nullable" : null, f.pii ? "pii" : null].filter(Boolean).join(", ") || "-"]))),
  ];
}

async function runsPage(model) {
  const { runs } = await get(`runs?model=${enc(model)}`);
  const chosen = new Set();
  const compare = el("button", { disabled: true, "data-action": "compare",
    onclick: () => { location.hash = `#/compare/${[...chosen].map(enc).join("/")}`; } }, "Compare the two selected");
  const pick = (id) => el("input", { type: "checkbox", "aria-label": `select ${id}`, onclick: (event) => {
    event.target.checked ? chosen.add(id) : chosen.delete(id);
    compare.disabled = chosen.size !== 2;
  } });
  return [
    el("h1", {}, `Runs of ${model}`),
    el("p", {}, compare),
    table(["", "run", "status", "trigger", "started", "took", "metrics"], runs.map((r) => [
      pick(r.run_id), link(`#/run/${enc(r.run_id)}`, r.run_id), badge(r.status), (r.trigger || {}).trigger || (r.trigger || {}).type || "-",
      time(r.started_at), r.ended_at ? `${((Date.parse(r.ended_at) - Date.parse(r.started_at)) / 1000).toFixed(1)} s` : "-", metricsText(r.metrics),
    ])),
  ];
}

async function runPage(runId) {
  const run = await get(`runs/${enc(runId)}`);
  const steps = Object.entries(run.steps || {}).filter(([, d]) => d && d.at)
    .map(([name, detail]) => ({ name, at: detail.at, seconds: stepSeconds(run, name), detail }))
    .sort((a, b) => a.at.localeCompare(b.at));
  const failure = run.failure;
  return [
    el("h1", {}, `Run ${run.run_id}`),
    failure ? el("div", { class: "error", role: "alert" }, `${failure.error}: ${failure.reason}`,
      failure.quarantined ? el("div", {}, `The file was quarantined at ${failure.quarantined}`) : null) : null,
    section(null, fields([
      ["model", link(`#/model/${enc(run.model)}`, run.model)], ["status", badge(run.status)],
      ["trigger", JSON.stringify(run.trigger)], ["started", time(run.started_at)], ["ended", time(run.ended_at)],
      ["parameters", JSON.stringify(run.params)], ["metrics", metricsText(run.metrics)],
    ])),
    section("Steps", steps.length ? timelineChart(run, steps) : el("p", { class: "muted" }, "no step has ended yet"),
      table(["step", "took", "recorded"], steps.map((s) => [s.name, s.seconds != null ? `${s.seconds.toFixed(2)} s` : "-",
        el("pre", {}, JSON.stringify(s.detail, null, 1).slice(0, 1500))]))),
  ];
}

// Timings are keyed by the step's function (ExportOnnx), steps by what they record (export).
function stepSeconds(run, name) {
  const timings = run.timings || {};
  return timings[{ export: "ExportOnnx" }[name] || name[0].toUpperCase() + name.slice(1)] ?? timings[name];
}

async function comparePage(a, b) {
  const answer = await get(`runs/compare?ids=${enc(a)},${enc(b)}`);
  const runs = answer.runs;
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const rows = [
    ["status", ...runs.map((r) => badge(r.status))],
    ["data version", ...runs.map((r) => String(r.dataset_version).slice(0, 12))],
    ...params.map((p) => [p, ...runs.map((r) => JSON.stringify(r.params[p] ?? null))]),
    ...answer.metrics.map((m) => [el("strong", {}, m), ...runs.map((r) => num(r.metrics[m]))]),
  ];
  return [el("h1", {}, "Runs side by side"), table(["", ...runs.map((r) => link(`#/run/${enc(r.run_id)}`, r.run_id))], rows)];
}

async function driftPage(model) {
  const { models } = await get("models");
  const summary = models.find((m) => m.model === model);
  if (!summary) throw new ApiError(404, { message: `model '${model}' has no spec` });
  if (!summary.last_check) return [el("h1", {}, `Drift of ${model}`), el("p", { class: "muted" }, "Not checked yet: checks run on the platform schedule, or now with `mlops drift " + model + " --now`.")];
  const report = await get(`models/${enc(model)}/drift`);
  const drift = report.drift, quality = report.performance;
  return [
    el("h1", {}, `Drift of ${model} v${report.version}`),
    section(null,
      el("p", {}, badge(drift.verdict), ` ${drift.rows} rows served since ${time(report.window_start)}, checked ${time(report.checked_at)}`,
        drift.drifted_features && drift.drifted_features.length ? `; drifted: ${drift.drifted_features.join(", ")}` : ""),
      el("p", {}, "Last checks (oldest to newest): ", verdictStrip(report.recent_checks))),
    section("Performance", table(["version", "variant", "labelled", `${quality.metric} live`, "trained", "verdict"],
      Object.values(quality.versions || {}).map((v) => [`v${v.version}`, v.variant, v.n, num((v.live || {})[quality.metric]), num(v.trained), badge(v.verdict)]))),
    estimateSection(report.estimated_performance || {}, report.recent_checks),
    multivariateSection(drift.multivariate),
    dataQualitySection(report.data_quality),
    el("h2", {}, "Features against the training baseline"),
    el("p", { class: "legend" }, el("span", {}, el("span", { class: "swatch baseline" }), "training"), el("span", {}, el("span", { class: "swatch current" }), "served")),
    el("div", { class: "grid" }, Object.entries(drift.features || {}).sort().map(([name, f]) => el("section", { class: "card feature", "data-feature": name },
      el("h2", {}, name, " ", badge(f.verdict)),
      el("p", { class: "muted" }, `${f.test}: p ${num(f.p_value_adjusted ?? f.p_value)} (adjusted), effect ${num(f.effect_size)}`),
      f.histogram ? histogramChart(f.histogram) : null))),
  ];
}

// The A/B test's difference (challenger minus champion) and its interval at each check so far.
function experimentHistory(experiment) {
  const history = experiment.history || [];
  if (!history.length) return null;
  const points = history.map((c) => ({ label: time(c.checked_at), value: c.difference, interval: c.interval }));
  return el("div", { class: "history", "data-chart": "difference" }, el("h3", {}, "Difference at each check"), seriesChart(points, 0));
}

// Per value of the spec's segment feature: arms, difference with its interval, verdict, and its difference over time.
function experimentSegments(experiment) {
  const segments = Object.entries(experiment.segments || {});
  if (!segments.length) return null;
  const history = experiment.history || [];
  return el("div", { class: "segments" },
    el("h3", {}, `By ${experiment.segment}`),
    table(["segment", "champion", "challenger", "difference", "interval", "p (adjusted)", "verdict", "over time"],
      segments.map(([value, r]) => [value, `${num(r.champion.mean)} (n=${r.champion.n})`, `${num(r.challenger.mean)} (n=${r.challenger.n})`,
        num(r.difference), r.interval ? r.interval.map(num).join(" to ") : "-", num(r.p_value_adjusted), badge(r.verdict),
        seriesChart(history.map((c) => ({ label: time(c.checked_at), ...((c.segments || {})[value] ? { value: c.segments[value].difference, interval: c.segments[value].interval } : {}) })), 0)])));
}

function estimateSection(estimated, recent) {
  if (!estimated.metrics) return section("Estimated quality before labels", el("p", { class: "muted" }, estimated.reason || `${estimated.verdict || "not checked"}`));
  const trend = [...(recent || [])].reverse().filter((c) => c.estimate);
  return section(`Estimated quality before labels (${estimated.method})`,
    el("p", {}, badge(estimated.verdict), ` ${estimated.n} served predictions; ${estimated.metric} judged against its estimate at training`),
    table(["metric", "at training", "estimate", "95% interval of the realized value"],
      Object.entries(estimated.metrics).map(([metric, e]) => [metric, num(estimated.reference[metric]), num(e.estimate), e.interval.map(num).join(" to ")])),
    trend.length ? el("div", { "data-chart": "estimate" }, el("h3", {}, `${estimated.metric} over the last checks (ring: realized once labels came back)`),
      seriesChart(trend.map((c) => ({ label: time(c.checked_at), value: c.estimate.estimate, interval: c.estimate.interval, other: c.estimate.realized })),
        estimated.reference[estimated.metric])) : null);
}

function multivariateSection(together) {
  if (!together) return null;
  return section("All features together",
    fields([
      ["verdict", badge(together.verdict)],
      ["PCA", `${together.components} components, ${num(together.explained_variance)} of the variance`],
      ["reconstruction error", `${num(together.current_error)} served vs ${num(together.reference_error)} at training (rise ${num(together.effect_size)})`],
      ["adjusted p", num(together.p_value_adjusted)],
    ]));
}

function dataQualitySection(quality) {
  if (!quality || !quality.features) return null;
  return section("Data quality",
    el("p", {}, badge(quality.verdict), ` ${quality.rows} rows against the training split`),
    table(["feature", "missing (training)", "out of training range", "unseen category", "issues"],
      Object.entries(quality.features).sort(([, a], [, b]) => b.issues.length - a.issues.length).map(([name, q]) => [name,
        `${num(q.missing_rate)} (${num(q.training_missing_rate)})`, num(q.out_of_range_rate), num(q.unseen_rate), q.issues.length ? badge(q.issues.join(", ")) : "ok"])));
}

async function auditPage(model) {
  const { records } = await get(`audit?model=${enc(model)}`);
  return [
    el("h1", {}, `Audit trail of ${model}`),
    table(["at", "action", "detail"], [...records].sort((a, b) => b.at.localeCompare(a.at)).map((r) => [time(r.at), r.action, el("code", {}, JSON.stringify(r.detail))])),
  ];
}

// --- routing -----------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/model\/([^/]+)$/, modelPage, "models"],
  [/^#\/runs\/([^/]+)$/, runsPage, "runs"],
  [/^#\/run\/([^/]+)$/, runPage, "runs"],
  [/^#\/compare\/([^/]+)\/([^/]+)$/, comparePage, "runs"],
  [/^#\/drift\/([^/]+)$/, driftPage, "drift"],
  [/^#\/audit\/([^/]+)$/, auditPage, "audit"],
  [/^(#\/models)?$/, modelsPage, "models"],
];

function navigation(model) {
  const nav = document.getElementById("nav");
  nav.replaceChildren(link("#/models", "Models"), ...(model ? [
    link(`#/model/${enc(model)}`, model), link(`#/runs/${enc(model)}`, "Runs"), link(`#/drift/${enc(model)}`, "Drift"), link(`#/audit/${enc(model)}`, "Audit"),
  ] : []));
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("here", a.getAttribute("href") === location.hash);
}

let currentModel = null;

async function route() {
  const hash = location.hash || "#/models";
  const [pattern, render] = ROUTES.find(([p]) => p.test(hash)) || ROUTES[ROUTES.length - 1];
  const args = (hash.match(pattern) || []).slice(1).filter((a) => a !== undefined && a !== "#/models").map(decodeURIComponent);
  if ([modelPage, runsPage, driftPage, auditPage].includes(render)) currentModel = args[0];
  navigation(currentModel);
  document.body.dataset.loaded = "";
  document.getElementById("busy").textContent = "loading…";
  let content;
  try {
    content = await render(...args);
  } catch (error) {
    content = [el("div", { class: "error", role: "alert" }, error.message)];
  }
  page.replaceChildren(...[flash, ...content].filter(Boolean));
  flash = null;
  document.getElementById("busy").textContent = "";
  document.body.dataset.loaded = hash;
}

window.addEventListener("hashchange", route);
route();
