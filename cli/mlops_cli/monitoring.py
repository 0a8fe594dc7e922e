"""Drift and performance as a person reads them: a check asked for now, and its verdicts per feature."""

from __future__ import annotations

import time
from typing import Any

from mlops_cli.api import Api, segment
from mlops_cli.errors import UserError
from mlops_cli.render import cell, err, out, table


def check_now(client: Api, model: str, timeout: float) -> dict[str, Any]:
    requested = client.call("POST", f"models/{segment(model)}/checks")
    deadline = time.monotonic() + timeout
    with err.status(f"checking {model} v{requested['version']}"):
        while time.monotonic() < deadline:
            status, report = client.raw("GET", f"models/{segment(model)}/drift")
            if status == 200 and report["check_id"] != requested["previous_check_id"]:
                return dict(report)
            time.sleep(1)
    raise UserError(f"the check of {model} did not report within {timeout:.0f} s (its ModelCheck function's logs say why)")


def show_drift(report: dict[str, Any], bucket: str) -> None:
    found = report["drift"]
    out.print(
        f"{report['model']} v{report['version']}, check {report['check_id']} at {report['checked_at'][:19]}: "
        f"{found.get('verdict')} ({found.get('rows', 0)} rows since {report['window_start'][:19]})"
    )
    features = found.get("features", {})
    table(
        None,
        ["feature", "test", "p (adjusted)", "effect size", "verdict"],
        ([name, f.get("test"), f.get("p_value_adjusted"), f.get("effect_size"), f.get("verdict")] for name, f in sorted(features.items())),
    )
    quality = report.get("performance", {})
    for version, live in sorted((quality.get("versions") or {}).items()):
        measured = (live.get("live") or {}).get(quality.get("metric"))
        out.print(
            f"v{version} ({live.get('variant')}): {live.get('verdict')}, {live.get('n', 0)} labelled, "
            f"{quality.get('metric')} {cell(measured)} live vs {cell(live.get('trained'))} trained"
        )
    together = found.get("multivariate")
    if together:
        out.print(
            f"all features together: {together.get('verdict')}, PCA reconstruction error {cell(together.get('current_error'))}"
            f" vs {cell(together.get('reference_error'))} at training (rise {cell(together.get('effect_size'))})"
        )
    show_estimate(report.get("estimated_performance") or {})
    show_data_quality(report.get("data_quality") or {})
    out.print(f"HTML report: s3://{bucket}/{report['html_key']} (mlops drift {report['model']} --open)")


def show_estimate(estimated: dict[str, Any]) -> None:
    """The label-free estimate: each metric with its interval, the one judged against training."""
    if not estimated.get("metrics"):
        out.print(f"estimated quality before labels: {estimated.get('verdict', 'not checked')}")
        return
    metric, entry = estimated["metric"], estimated["metrics"].get(estimated["metric"], {})
    out.print(
        f"estimated quality before labels ({estimated['method']}, {estimated['n']} served): {estimated['verdict']}, "
        f"{metric} {cell(entry.get('estimate'))} [{cell(entry.get('interval'))}] vs {cell(estimated['reference'].get(metric))} at training"
    )


def show_data_quality(quality: dict[str, Any]) -> None:
    if not quality:
        return
    failing = quality.get("features_with_issues") or []
    out.print(f"data quality: {quality.get('verdict')}" + (f" ({', '.join(failing)})" if failing else ""))
    issues = {name: entry for name, entry in (quality.get("features") or {}).items() if entry.get("issues")}
    if issues:
        table(
            None,
            ["feature", "missing", "out of training range", "unseen category", "issues"],
            (
                [name, e.get("missing_rate"), e.get("out_of_range_rate"), e.get("unseen_rate"), e.get("issues")]
                for name, e in sorted(issues.items())
            ),
        )
