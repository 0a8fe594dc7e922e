"""`mlops`: the platform from a terminal. Each command is a few API calls (SigV4-signed) or S3 uploads.

The commands stay thin: finding the stack is target.py, the API is api.py, following a run is
runs.py, batch jobs batch.py, tables render.py, the console console_server.py.
"""

from __future__ import annotations

import json
import re
import sys
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError

from mlops_cli import batch as batch_jobs
from mlops_cli import drafts, monitoring, rollouts
from mlops_cli import runs as pipeline_runs
from mlops_cli.api import Api, segment
from mlops_cli.errors import UserError
from mlops_cli.records import parse_records, read_text
from mlops_cli.render import cell, emit_json, err, marked, metrics, out, table
from mlops_cli.target import Target

app = typer.Typer(
    help="Train, serve and watch models on the serverless MLOps platform (local mode unless --stage/--profile).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="Model specs: what a model is, how it is trained, gated, rolled out and monitored.", no_args_is_help=True)
rollout_app = typer.Typer(help="Rollouts of a challenger.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")
app.add_typer(rollout_app, name="rollout")

Json = Annotated[bool, typer.Option("--json", help="Print the API's JSON, for scripts.")]
Model = Annotated[str, typer.Argument(help="The model's name (lower-case letters, digits, dashes).")]
Timeout = Annotated[float, typer.Option(help="Give up waiting after this many seconds.")]
_target: Target | None = None


@app.callback()
def choose_stack(
    stage: Annotated[
        str | None, typer.Option(envvar="MLOPS_STAGE", help="A deployed stage (dev, staging, prod): AWS, not local mode.")
    ] = None,
    profile: Annotated[str | None, typer.Option(envvar="MLOPS_PROFILE", help="AWS profile for a deployed stack.")] = None,
    region: Annotated[str | None, typer.Option(envvar="MLOPS_REGION", help="AWS region of a deployed stack.")] = None,
    stack: Annotated[str | None, typer.Option(envvar="MLOPS_STACK", help="Stack name, if not the stage's.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(envvar="MLOPS_ENDPOINT_URL", help="AWS endpoint of local mode \\[default: http://127.0.0.1:4566].")
    ] = None,
) -> None:
    global _target
    _target = Target.choose(stage, profile, region, endpoint_url, stack)


def target() -> Target:
    assert _target is not None, "the callback chooses the stack before any command"
    return _target


def api() -> Api:
    return Api(target())


# --- specs and data -----------------------------------------------------------------------------


@app.command()
def init(
    data: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="CSV, JSON Lines (either may be .gz) or Parquet: sampled over the whole file."),
    ],
    target_column: Annotated[str, typer.Option("--target", help="The column to predict.")],
    model: Annotated[str | None, typer.Option(help="The model's name [default: from the file name].")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Where to write the draft [default: <model>.spec.json].")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing draft.")] = False,
    as_json: Json = False,
) -> None:
    """Draft a spec from the data (types, ranges, categories, task) into a file to review."""
    name = model or drafts.model_name_from(data)
    path = output or Path(f"{name}.spec.json")
    if path.exists() and not force:
        raise UserError(f"{path} exists: review and push it (`mlops spec push {path}`), or pass --force to draft again")
    sample, drawn = drafts.sample_of(data)
    draft = api().call("POST", f"models/{segment(name)}/draft", {"target": target_column, "csv": sample, "drawn": drawn})
    path.write_text(json.dumps(draft["spec"], indent=2) + "\n")
    if as_json:
        return emit_json({**draft, "model": name, "file": str(path)})
    spec = draft["spec"]
    table(
        f"Draft spec for {name} ({draft['rows_sampled']} rows sampled): {spec['target']['task']} on {spec['target']['name']}",
        ["feature", "type", "details"],
        ([f["name"], f["type"], drafts.feature_details(f)] for f in spec["features"]),
    )
    for note in draft.get("notes", []):
        out.print(marked("note", "yellow", f": {note}"))
    out.print(f"Wrote {path}. Review it, then: mlops spec push {path}")


@spec_app.command("push")
def spec_push(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A spec (JSON), as `mlops init` writes it.")],
    model: Annotated[str | None, typer.Option(help="The model's name [default: the file's name before .spec.json].")] = None,
    as_json: Json = False,
) -> None:
    """Register a spec: a new version of it becomes current (the same spec again changes nothing)."""
    name = model or drafts.model_name_from(file)
    try:
        spec = json.loads(file.read_text())
    except ValueError as error:
        raise UserError(f"{file} is not valid JSON: {error}") from None
    registered = api().call("PUT", f"models/{segment(name)}", spec)
    if as_json:
        return emit_json(registered)
    verb = "registered" if registered["created"] else "unchanged, still"
    out.print(f"{name}: spec {verb} version {registered['spec_version']}")


@spec_app.command("show")
def spec_show(model: Model, as_json: Json = False) -> None:
    """The model's current spec."""
    registered = api().call("GET", f"models/{segment(model)}")
    emit_json(registered if as_json else registered["spec"])


@app.command()
def models(as_json: Json = False) -> None:
    """Models with a spec: champion, challenger and its share, the latest check's verdicts."""
    answer = api().call("GET", "models")
    if as_json:
        return emit_json(answer)
    table(
        None,
        ["model", "spec", "champion", "challenger", "share", "drift", "performance", "checked"],
        (
            [
                m["model"],
                m["spec_version"],
                m.get("champion"),
                m.get("challenger"),
                f"{m.get('challenger_percent', 0)} %",
                (m.get("last_check") or {}).get("drift"),
                (m.get("last_check") or {}).get("performance"),
                ((m.get("last_check") or {}).get("checked_at") or "-")[:19],
            ]
            for m in answer["models"]
        ),
    )


@app.command()
def push(
    data: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV or JSON Lines file.")],
    model: Annotated[str, typer.Option(help="The model it trains.")],
    follow: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
    distributed: Annotated[
        bool, typer.Option(help="Validate it in parallel by the Distributed Map whatever its size (past 1 GiB it always is).")
    ] = False,
    timeout: Timeout = 900,
    as_json: Json = False,
) -> None:
    """Upload data: it starts a run (validate, version, train, export, evaluate, register); follow it live."""
    stack, client = target(), api()
    client.call("GET", f"models/{segment(model)}")  # no spec, no run: say so before uploading
    key = f"datasets/{model}/{data.name}"
    bucket = stack.output("DataBucketName")
    with data.open("rb") as body:
        metadata = {"validation": "distributed"} if distributed else {}  # upload metadata the pipeline's Ingest reads
        uploaded = stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)
    if not as_json:
        out.print(f"Uploaded {data} to s3://{bucket}/{key}")
    run_id = pipeline_runs.find_upload_run(client, model, key, uploaded.get("VersionId"), timeout_s=min(timeout, 120))
    if not follow:
        return emit_json({"run_id": run_id, "key": key}) if as_json else out.print(f"Run {run_id} started: mlops run {run_id} --follow")
    pipeline_runs.follow_and_report(client, run_id, timeout, as_json)


@app.command()
def register(
    onnx_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An ONNX model trained elsewhere.")],
    model: Annotated[str, typer.Option(help="The model it is a version of (its spec says the features).")],
    metrics_file: Annotated[
        Path | None, typer.Option("--metrics", exists=True, dir_okay=False, help="JSON of what its trainer measured (kept).")
    ] = None,
    follow: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
    timeout: Timeout = 900,
    as_json: Json = False,
) -> None:
    """Register a model trained elsewhere: checked against the spec, scored and gated like a trained one."""
    stack, client = target(), api()
    client.call("GET", f"models/{segment(model)}")  # no spec: say so before uploading
    key = f"imports/{model}/{onnx_file.name}"
    bucket = stack.output("ArtifactsBucketName")
    with onnx_file.open("rb") as body:
        stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    request: dict = {"artifact_key": key}
    if metrics_file is not None:
        request["metrics"] = json.loads(metrics_file.read_text())
    started = client.call("POST", f"models/{segment(model)}/versions", body=request)
    if not as_json:
        out.print(f"Uploaded {onnx_file} to s3://{bucket}/{key}")
    if not follow:
        return emit_json(started) if as_json else out.print(f"Run {started['run_id']} started: mlops run {started['run_id']} --follow")
    pipeline_runs.wait_for_run(client, started["run_id"], timeout_s=min(timeout, 120))
    pipeline_runs.follow_and_report(client, started["run_id"], timeout, as_json)


@app.command()
def runs(
    model: Model,
    status: Annotated[str | None, typer.Option(help="RUNNING, SUCCEEDED or FAILED.")] = None,
    sort: Annotated[str | None, typer.Option(help="A metric to sort by, '-' first for descending (-roc_auc).")] = None,
    as_json: Json = False,
) -> None:
    """A model's runs, newest first (or by a metric)."""
    answer = api().call("GET", "runs", query={"model": model, "status": status, "sort": sort})
    if as_json:
        return emit_json(answer)
    table(
        f"Runs of {model}",
        ["run", "status", "trigger", "started", "metrics"],
        (
            [r["run_id"], r["status"], r.get("trigger", {}).get("trigger"), r["started_at"][:19], metrics(r.get("metrics"))]
            for r in answer["runs"]
        ),
    )


@app.command()
def run(
    run_id: Annotated[str, typer.Argument(help="The run's id (its pipeline execution's name).")],
    follow: Annotated[bool, typer.Option(help="Follow it until it ends.")] = False,
    timeout: Timeout = 900,
    as_json: Json = False,
) -> None:
    """One run: its steps with timings, metrics, and the reason if it failed."""
    client = api()
    if follow:
        return pipeline_runs.follow_and_report(client, run_id, timeout, as_json)
    answer = client.call("GET", f"runs/{segment(run_id)}")
    if as_json:
        return emit_json(answer)
    pipeline_runs.show_run(answer)


@app.command()
def compare(run_a: str, run_b: str, as_json: Json = False) -> None:
    """Two runs side by side: data version, parameters, metrics."""
    answer = api().call("GET", "runs/compare", query={"ids": f"{run_a},{run_b}"})
    if as_json:
        return emit_json(answer)
    columns = answer["runs"]
    rows: list[list[Any]] = [
        ["status", *(r["status"] for r in columns)],
        ["data version", *(str(r["dataset_version"])[:12] for r in columns)],
    ]
    for name in sorted({p for r in columns for p in r["params"]}):
        rows.append([name, *(r["params"].get(name) for r in columns)])
    for name in answer["metrics"]:
        rows.append([name, *(r["metrics"].get(name) for r in columns)])
    table(None, ["", *(r["run_id"] for r in columns)], rows)


# --- registry and traffic -----------------------------------------------------------------------


@app.command()
def versions(model: Model, as_json: Json = False) -> None:
    """A model's versions: status, metrics, the run and data that made them; its aliases."""
    answer = api().call("GET", f"models/{segment(model)}/versions")
    if as_json:
        return emit_json(answer)
    table(
        f"Versions of {model} (aliases: {cell(answer['aliases']) or 'none'})",
        ["version", "status", "metrics", "run", "data", "created"],
        (
            [v["version"], v["status"], metrics(v["metrics"]), v["run_id"], v["dataset_version"][:12], v["created_at"][:19]]
            for v in sorted(answer["versions"], key=lambda v: v["version"])
        ),
    )


def _decide(model: str, version: int, decision: str, reason: str, as_json: bool) -> None:
    answer = api().call("POST", f"models/{segment(model)}/versions/{version}/{decision}", {"reason": reason})
    if as_json:
        return emit_json(answer)
    out.print(f"{model} v{version}: {answer['status']}")


@app.command()
def approve(
    model: Model, version: int, reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "", as_json: Json = False
) -> None:
    """Approve a version waiting for manual approval: its run goes on to roll it out."""
    _decide(model, version, "approve", reason, as_json)


@app.command()
def reject(
    model: Model, version: int, reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "", as_json: Json = False
) -> None:
    """Reject a version waiting for manual approval: its run ends and nothing serves it."""
    _decide(model, version, "reject", reason, as_json)


@app.command()
def traffic(
    model: Model,
    challenger_percent: Annotated[int | None, typer.Option(min=0, max=100, help="Set the challenger's share of requests.")] = None,
    shadow: Annotated[int | None, typer.Option(min=1, help="Set a version to get copies of requests (a shadow).")] = None,
    no_shadow: Annotated[bool, typer.Option(help="Remove the shadow.")] = False,
    as_json: Json = False,
) -> None:
    """Show the aliases and traffic split; with options, change it (at the revision just read)."""
    client = api()
    current = client.call("GET", f"models/{segment(model)}/traffic")
    if challenger_percent is not None or shadow is not None or no_shadow:
        policy = current["policy"]
        change = {
            "challenger_percent": policy["challenger_percent"] if challenger_percent is None else challenger_percent,
            "shadow": None if no_shadow else (shadow if shadow is not None else policy.get("shadow")),
            "expected_revision": policy["revision"],
        }
        current = client.call("PUT", f"models/{segment(model)}/traffic", change)
    if as_json:
        return emit_json(current)
    rollouts.show_traffic(model, current)


@app.command()
def promote(model: Model, as_json: Json = False) -> None:
    """The challenger becomes champion (the old champion is archived, kept for rollback)."""
    answer = api().call("POST", f"models/{segment(model)}/promote")
    if as_json:
        return emit_json(answer)
    out.print(f"{model}: champion is now v{answer['aliases'].get('champion')}")


@app.command()
def rollback(model: Model, reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "", as_json: Json = False) -> None:
    """Drop the challenger, or without one restore the previous champion."""
    answer = api().call("POST", f"models/{segment(model)}/rollback", {"reason": reason})
    if as_json:
        return emit_json(answer)
    out.print(f"{model}: champion v{answer['aliases'].get('champion')}, challenger {answer['aliases'].get('challenger', 'none')}")


@rollout_app.command("watch")
def rollout_watch(model: Model, timeout: Timeout = 3600, as_json: Json = False) -> None:
    """Follow the challenger's rollout (canary steps, A/B counts) until it is promoted or rolled back."""
    ended = rollouts.watch(api(), model, err if as_json else out, timeout)
    if as_json:
        emit_json(ended)


# --- predictions ----------------------------------------------------------------------------------


@app.command()
def predict(
    model: Model,
    source: Annotated[str, typer.Argument(help="A JSON or CSV file, or - for standard input.")] = "-",
    routing_key: Annotated[str | None, typer.Option(help="The same key always gets the same variant.")] = None,
    as_json: Json = False,
) -> None:
    """Predictions for records: JSON ({"records": [...]}, a list or one object) or CSV with a header."""
    client = api()
    text = sys.stdin.read() if source == "-" else read_text(Path(source))
    spec = client.call("GET", f"models/{segment(model)}")["spec"]
    body: dict[str, Any] = {"records": parse_records(text, spec)}
    if routing_key:
        body["routing_key"] = routing_key
    answer = client.call("POST", f"models/{segment(model)}/predict", body)
    if as_json:
        return emit_json(answer)
    first = answer["predictions"][0] if answer["predictions"] else {}
    columns = ["#", "value"] if "value" in first else ["#", "label", "probabilities"]
    rows = (
        [i, p["value"]] if "value" in p else [i, p.get("label"), {k: f"{v:.3f}" for k, v in (p.get("probabilities") or {}).items()}]
        for i, p in enumerate(answer["predictions"])
    )
    table(f"{model} v{answer['version']} ({answer['variant']}), prediction {answer['prediction_id']}", columns, rows)
    for warning in (answer.get("warnings") or [])[:10]:  # answered all the same: values the data never showed
        out.print(marked("note", "yellow", f": record {warning['record']}, {warning['feature']}: {warning['message']}"))


@app.command()
def feedback(
    model: Model,
    prediction_id: Annotated[str, typer.Argument(help="As predict printed it.")],
    actual: Annotated[str, typer.Argument(help="The true label, or value for regression.")],
    index: Annotated[int, typer.Option(help="Which record of a batch prediction.")] = 0,
    as_json: Json = False,
) -> None:
    """Ground truth for an earlier prediction (performance checks and A/B tests use it)."""
    value: str | float = actual
    if (
        re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", actual)
        and api().call("GET", f"models/{segment(model)}")["spec"]["target"]["task"] == "regression"
    ):
        value = float(actual)
    answer = api().call("POST", f"models/{segment(model)}/feedback", {"prediction_id": prediction_id, "actual": value, "index": index})
    if as_json:
        return emit_json(answer)
    out.print(f"{model}: feedback for {prediction_id}[{index}] accepted")


@app.command()
def batch(
    model: Model,
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A folder of CSVs to score.")],
    version: Annotated[int | None, typer.Option(help="The version to score with [default: the champion].")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Where to write predictions [default: the folder].")] = None,
    timeout: Timeout = 1800,
    as_json: Json = False,
) -> None:
    """Score a folder of CSVs: upload, start a batch job, follow it, download x.predictions.csv per x.csv."""
    result = batch_jobs.run(target(), api(), model, folder, version, output or folder, timeout, err if as_json else out)
    if as_json:
        emit_json(result)


# --- monitoring -----------------------------------------------------------------------------------


@app.command()
def drift(
    model: Model,
    now: Annotated[bool, typer.Option(help="Check now instead of showing the latest scheduled check.")] = False,
    open_report: Annotated[bool, typer.Option("--open", help="Download the HTML report and open it in a browser.")] = False,
    timeout: Timeout = 300,
    as_json: Json = False,
) -> None:
    """Drift, data quality and performance: per feature and all together, estimated before labels, live."""
    client = api()
    report = monitoring.check_now(client, model, timeout) if now else client.call("GET", f"models/{segment(model)}/drift")
    if open_report:
        page = Path(f"{model}-drift-{report['check_id']}.html")
        body = target().client("s3").get_object(Bucket=target().output("ArtifactsBucketName"), Key=report["html_key"])["Body"].read()
        page.write_bytes(body)
        webbrowser.open(page.resolve().as_uri())
        if not as_json:
            out.print(f"Opened {page}")
    if as_json:
        return emit_json(report)
    monitoring.show_drift(report, target().output("ArtifactsBucketName"))


@app.command()
def audit(model: Model, as_json: Json = False) -> None:
    """Who changed what and when: specs, versions, decisions, aliases, traffic."""
    answer = api().call("GET", "audit", query={"model": model})
    if as_json:
        return emit_json(answer)
    table(f"Audit trail of {model}", ["at", "action", "detail"], ([r["at"][:19], r["action"], r["detail"]] for r in answer["records"]))


@app.command()
def console(
    port: Annotated[int, typer.Option(help="Local port to serve on.")] = 8642,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open it in a browser.")] = True,
) -> None:
    """The web console on this machine, its API calls signed with your credentials (IAM stays the API's only door)."""
    from mlops_cli.console_server import serve_console

    serve_console(Api(target()), port, open_browser)


def main() -> None:
    """Entry point: a user's mistake or the API's refusal is one line on stderr and a non-zero exit."""
    try:
        app()
    except UserError as error:
        err.print(marked("error", "red", f": {error}"))
        sys.exit(error.exit_code)
    except ClientError as error:  # S3 or Step Functions said no: an IAM policy, a missing bucket
        details = error.response.get("Error", {})
        err.print(marked("error", "red", f": AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}"))
        sys.exit(1)
    except BotoCoreError as error:  # no credentials, no region, no network
        err.print(marked("error", "red", f": {error}"))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
