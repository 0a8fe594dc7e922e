"""Pipeline runs as a person follows them: found from the upload that started them, step by step.

A run records each step as it ends (`steps.<name>` with its time `at`, `timings.<name>` with the
seconds its Lambda took), so following one is polling `GET /runs/{id}` and printing what is new.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.status import Status

from mlops_cli.api import Api, segment
from mlops_cli.errors import ApiError, UserError
from mlops_cli.render import cell, emit_json, err, fields, marked, metrics, out, seconds, table

POLL_S = 1.0


class RunFailed(UserError):
    """The run ended FAILED: the reason is the message; exit status 2 tells it from a usage error."""

    exit_code = 2


def find_upload_run(api: Api, model: str, key: str, version_id: str | None, timeout_s: float) -> str:
    """The run an upload started (StartRun names it; the run records its source object)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in api.call("GET", "runs", query={"model": model})["runs"]:
            source = run.get("trigger", {}).get("source", {})
            if source.get("key") == key and (version_id is None or source.get("version_id") in (version_id, None)):
                return str(run["run_id"])
        time.sleep(POLL_S)
    raise UserError(f"no run started for s3 key {key} within {timeout_s:.0f} s: is the model's spec registered? (`mlops spec push`)")


def ordered_steps(run: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Steps in the order they ended (each records when)."""
    steps = run.get("steps") or {}
    return sorted(
        ((name, detail) for name, detail in steps.items() if isinstance(detail, dict)), key=lambda item: str(item[1].get("at", ""))
    )


# Timings are keyed by the step's function (ExportOnnx), steps by what they record (export).
TIMING_KEYS = {"export": "ExportOnnx", "plan_validation": "PlanValidation"}


def step_seconds(run: dict[str, Any], name: str) -> float | None:
    timings = run.get("timings") or {}
    return timings.get(TIMING_KEYS.get(name, name[:1].upper() + name[1:]), timings.get(name))


def step_summary(name: str, detail: dict[str, Any]) -> str:
    """The one thing to know about a step, from what it recorded."""
    if name == "ingest":
        return f"{detail.get('key', 'the latest dataset version')}, spec v{detail.get('spec_version')}"
    if name == "plan_validation":
        return f"{detail.get('chunks')} chunk(s) for the validation's Distributed Map"
    if name == "validate":
        rows = detail.get("rows") or {}
        return f"{rows.get('valid')} of {rows.get('total')} rows valid, {len(detail.get('warnings') or [])} warnings"
    if name == "prepare":
        splits = detail.get("splits") or {}
        compute = (detail.get("compute") or {}).get("engine")
        return (
            ", ".join(f"{split} {part.get('rows')}" for split, part in splits.items())
            + " rows"
            + (f"; fits on {compute}" if compute else "")
        )
    if name == "train":
        where = f" on SageMaker ({detail['job']['name']})" if detail.get("compute") == "sagemaker" else ""
        return f"{detail.get('algorithm')} {detail.get('hyperparameters') or ''}".strip() + where
    if name == "import":
        return f"{(detail.get('source') or {}).get('key')}: fits the spec, runs on the test split"
    if name == "version":
        return f"dataset {str(detail.get('version', ''))[:12]}" + ("" if detail.get("new", True) else " (known content)")
    if name == "evaluate":
        gate = detail.get("gate") or {}
        return f"{metrics(detail.get('metrics'))}; gate {'passed' if gate.get('passed', True) else 'failed'}"
    if name == "skipped":
        return str(detail.get("reason", ""))
    if name == "export":
        return f"ONNX parity: largest difference {cell(detail.get('parity_max_abs_diff'))} on {detail.get('parity_rows')} rows"
    return ", ".join(f"{k} {v}" for k, v in detail.items() if k != "at" and isinstance(v, str | int | float))[:120]


def wait_for_run(api: Api, run_id: str, timeout_s: float) -> None:
    """A run the API just started exists once its first step (Ingest) records it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            api.call("GET", f"runs/{segment(run_id)}")
            return
        except ApiError as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(POLL_S)


def follow(api: Api, run_id: str, console: Console, timeout_s: float) -> dict[str, Any]:
    """Prints each step as it ends, with a live line for the one under way; the finished run.

    Raises RunFailed with the reason (and the quarantine path) when the run fails.
    """
    shown: set[str] = set()
    started = time.monotonic()
    deadline = started + timeout_s
    with Status(f"run {run_id}: starting", console=console) as status:
        while True:
            run = api.call("GET", f"runs/{segment(run_id)}")
            steps = ordered_steps(run)
            for position, (name, detail) in enumerate(steps):
                took = step_seconds(run, name)
                # A step records its result just before its timing: wait for it unless the run moved on.
                settled = took is not None or position < len(steps) - 1 or run["status"] != "RUNNING"
                if name not in shown and settled:
                    shown.add(name)
                    console.print(marked("  ✓", "green", f" {name:<10} {seconds(took):>8}  {step_summary(name, detail)}"))
            if run["status"] != "RUNNING":
                break
            pending = registered_version(api, run) if "evaluate" in shown else None
            if pending is not None and pending["status"] == "pending_approval":
                number = pending["version"]
                console.print(marked("  …", "yellow", f" version {number} waits for approval: mlops approve {run['model']} {number}"))
                return run
            if time.monotonic() > deadline:
                raise UserError(f"run {run_id} still running after {timeout_s:.0f} s; `mlops run {run_id} --follow` picks it up again")
            status.update(f"run {run_id}: running ({time.monotonic() - started:.0f} s, {len(shown)} steps done)")
            time.sleep(POLL_S)
    if run["status"] == "FAILED":
        raise RunFailed(failure_text(run))
    return run


def failure_text(run: dict[str, Any]) -> str:
    failure = run.get("failure") or {}
    text = f"run {run['run_id']} FAILED: {failure.get('error', 'error')}: {failure.get('reason', 'no reason recorded')}"
    if failure.get("quarantined"):
        text += f"\n  the file was quarantined at {failure['quarantined']}"
    return text


def registered_version(api: Api, run: dict[str, Any]) -> dict[str, Any] | None:
    """The model version a run registered (approved, or waiting for approval), if any."""
    versions = api.call("GET", f"models/{segment(run['model'])}/versions")["versions"]
    return next((v for v in versions if v["run_id"] == run["run_id"]), None)


def follow_and_report(client: Api, run_id: str, timeout: float, as_json: bool) -> None:
    try:
        finished = follow(client, run_id, err if as_json else out, timeout)
    except RunFailed:
        if as_json:
            emit_json(client.call("GET", f"runs/{segment(run_id)}"))
        raise
    version = registered_version(client, finished)
    if as_json:
        return emit_json({"run": finished, "version": version})
    if "skipped" in finished.get("steps", {}):
        out.print(f"Run {run_id} {finished['status']}: nothing new to train")
    elif version is not None:
        out.print(f"Run {run_id} {finished['status']}: version {version['version']} ({version['status']}), {metrics(version['metrics'])}")
    else:
        out.print(f"Run {run_id} {finished['status']}")


def show_run(answer: dict[str, Any]) -> None:
    fields(
        [
            ("run", answer["run_id"]),
            ("model", answer["model"]),
            ("status", answer["status"]),
            ("trigger", answer.get("trigger")),
            ("started", answer["started_at"]),
            ("ended", answer.get("ended_at")),
            ("params", answer.get("params")),
            ("metrics", metrics(answer.get("metrics"))),
        ]
    )
    steps = ordered_steps(answer)
    rows = ([n, seconds(step_seconds(answer, n)), step_summary(n, d)] for n, d in steps)
    table(None, ["step", "took", "what it recorded"], rows)
    if answer.get("failure"):
        err.print(failure_text(answer), style="red")
