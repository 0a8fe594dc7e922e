"""The drift report as a page a person would rather read: verdicts first, then a chart per feature.

Plain HTML with inline SVG (no scripts, nothing fetched), so it opens from S3 or a download as is.
"""

from __future__ import annotations

import html
from typing import Any

WIDTH, HEIGHT = 360, 120
COLOURS = {"baseline": "#9aa5b1", "current": "#d9480f"}


def render(report: dict[str, Any], recent: list[dict[str, Any]] | None = None) -> str:
    """The page; `recent` (the last checks' summaries, newest first) draws the trend."""
    drift = report["drift"]
    performance = report.get("performance", {})
    rows = "".join(_feature_row(name, result) for name, result in _ordered(drift))
    prediction = drift.get("prediction")
    prediction_row = _feature_row("prediction", prediction) if prediction else ""
    quality = "".join(
        f"<tr><td>v{html.escape(k)} ({html.escape(v['variant'])})</td><td>{v['n']}</td>"
        f"<td>{_number(v.get('trained'))}</td><td>{_number((v.get('live') or {}).get(performance.get('metric', ''), None))}</td>"
        f"<td>{html.escape(v['verdict'])}</td></tr>"
        for k, v in performance.get("versions", {}).items()
    )
    title = f"Drift report: {report['model']} v{report['version']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ padding: .3rem .6rem; border-bottom: 1px solid #e4e7eb; text-align: left; }}
.drift {{ color: #c92a2a; font-weight: 600; }}
.legend span {{ display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Checked {html.escape(report["checked_at"])} on {drift["rows"]} captured rows since {html.escape(report["window_start"])}.
Verdict: <strong class="{"drift" if drift["verdict"] == "drift" else ""}">{html.escape(drift["verdict"])}</strong>;
drifted features: {html.escape(", ".join(drift["drifted_features"]) or "none")};
prediction drift: {html.escape(str(drift["prediction_drift"]))}.</p>
<p class="legend">Bars: <span style="background:{COLOURS["baseline"]}"></span>training baseline
<span style="background:{COLOURS["current"]}"></span>captured traffic</p>
<h2>Model quality ({html.escape(performance.get("metric", ""))}, last {performance.get("window_hours", "")} h):
{html.escape(performance.get("verdict", "not checked"))}</h2>
<table><tr><th>version</th><th>labelled</th><th>at training</th><th>live</th><th>verdict</th></tr>{quality}</table>
{_estimate_section(report.get("estimated_performance") or {})}
{_multivariate_section(drift.get("multivariate"))}
{_quality_section(report.get("data_quality") or {})}
{_trend_section(recent or [])}
<h2>Features</h2>
<table><tr><th>feature</th><th>verdict</th><th>test</th><th>adjusted p</th><th>effect</th><th>distribution</th></tr>
{prediction_row}{rows}</table>
</body></html>
"""


def _estimate_section(estimated: dict[str, Any]) -> str:
    if not estimated.get("metrics"):
        reason = estimated.get("reason") or f"{estimated.get('n', 0)} served predictions"
        return (
            f"<h2>Estimated quality before labels: {html.escape(estimated.get('verdict', 'not checked'))}</h2><p>{html.escape(reason)}</p>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(metric)}</td><td>{_number(estimated['reference'].get(metric))}</td><td>{_number(entry['estimate'])}</td>"
        f"<td>{_number(entry['interval'][0])} to {_number(entry['interval'][1])}</td></tr>"
        for metric, entry in estimated["metrics"].items()
    )
    method = {"cbpe": "confidence-based (CBPE)", "dle": "direct loss estimation (DLE)"}.get(estimated["method"], estimated["method"])
    return (
        f"<h2>Estimated quality before labels ({html.escape(method)}): {html.escape(estimated['verdict'])}</h2>"
        f"<p>{estimated['n']} served predictions; judged on {html.escape(estimated['metric'])}, decay "
        f"{_number(estimated.get('decay'))} (at most {_number(estimated['max_decay'])}), p {_number(estimated.get('p_value'))}"
        f" at alpha {_number(estimated['alpha'])}.</p>"
        f"<table><tr><th>metric</th><th>at training (estimated on the test split)</th><th>estimate</th>"
        f"<th>95% interval of the realized value</th></tr>{rows}</table>"
    )


def _multivariate_section(together: dict[str, Any] | None) -> str:
    if not together:
        return "<h2>Multivariate drift: no reference</h2>"
    return (
        f"<h2>Multivariate drift (all features together): {html.escape(together['verdict'])}</h2>"
        f"<p>PCA with {together['components']} components ({_number(together['explained_variance'])} of the variance): "
        f"mean reconstruction error {_number(together['current_error'])} against {_number(together['reference_error'])} at training "
        f"(rise {_number(together['effect_size'])}, at least {_number(together['threshold'])} counts; adjusted p "
        f"{_number(together.get('p_value_adjusted'))}) over {together['n']} rows.</p>"
    )


def _quality_section(quality: dict[str, Any]) -> str:
    if not quality:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_number(entry['missing_rate'])} ({_number(entry['training_missing_rate'])})</td>"
        f"<td>{_number(entry.get('out_of_range_rate'))}</td><td>{_number(entry.get('unseen_rate'))}</td>"
        f'<td class="{"drift" if entry["issues"] else ""}">{html.escape(", ".join(entry["issues"]) or "ok")}</td></tr>'
        for name, entry in sorted(quality["features"].items(), key=lambda item: not item[1]["issues"])
    )
    return (
        f"<h2>Data quality: {html.escape(quality['verdict'])}</h2>"
        f"<table><tr><th>feature</th><th>missing (training)</th><th>out of training range</th><th>unseen category</th>"
        f"<th>issues</th></tr>{rows}</table>"
    )


def _trend_section(recent: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(check.get('checked_at')))}</td><td>{html.escape(str(check.get('drift')))}</td>"
        f"<td>{html.escape(str(check.get('multivariate')))}</td><td>{html.escape(str(check.get('data_quality')))}</td>"
        f"<td>{_trend_estimate(check.get('estimate'))}</td><td>{html.escape(str(check.get('performance')))}</td></tr>"
        for check in recent
    )
    return (
        "<h2>The last checks</h2><table><tr><th>checked</th><th>drift</th><th>multivariate</th><th>data quality</th>"
        f"<th>estimate [interval] (realized)</th><th>labelled quality</th></tr>{rows}</table>"
        if rows
        else ""
    )


def _trend_estimate(estimate: dict[str, Any] | None) -> str:
    if not estimate:
        return ""
    low, high = estimate["interval"]
    realized = f" ({_number(estimate['realized'])})" if estimate.get("realized") is not None else ""
    return f"{html.escape(estimate['metric'])} {_number(estimate['estimate'])} [{_number(low)}, {_number(high)}]{realized}"


def _ordered(drift: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Drifted first, then by effect size: what a person should look at comes first."""
    return sorted(drift["features"].items(), key=lambda item: (item[1]["verdict"] != "drift", -item[1]["effect_size"]))


def _feature_row(name: str, result: dict[str, Any]) -> str:
    verdict = result["verdict"]
    return (
        f'<tr><td>{html.escape(name)}</td><td class="{"drift" if verdict == "drift" else ""}">{html.escape(verdict)}</td>'
        f"<td>{html.escape(result['test'])} {_number(result['statistic'])}</td><td>{_number(result.get('p_value_adjusted'))}</td>"
        f"<td>{html.escape(result['effect'])} {_number(result['effect_size'])}</td><td>{_bars(result['histogram'])}</td></tr>"
    )


def _bars(histogram: dict[str, Any]) -> str:
    baseline, current = histogram["baseline"], histogram["current"]
    bins = max(len(baseline), 1)
    top = max(baseline + current + [1e-9])
    slot = WIDTH / bins
    bars = []
    for i, (b, c) in enumerate(zip(baseline, current, strict=True)):
        for offset, share, colour in ((0.1, b, COLOURS["baseline"]), (0.5, c, COLOURS["current"])):
            height = HEIGHT * share / top
            bars.append(
                f'<rect x="{i * slot + offset * slot:.1f}" y="{HEIGHT - height:.1f}" width="{0.4 * slot:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{share:.3f}</title></rect>'
            )
    labels = histogram.get("categories") or [f"{e:.3g}" for e in histogram.get("edges", [])]
    caption = html.escape(", ".join(map(str, labels[:12])))
    return f'<svg width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{caption}">{"".join(bars)}</svg>'


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))
