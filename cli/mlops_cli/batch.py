"""Batch scoring of a folder: upload its CSVs, start the job, follow it, bring the predictions home.

The job writes x.predictions.csv beside each x.csv, so progress is the count of those files, and
its execution says when it ended and why it failed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlops_cli.api import Api, segment
from mlops_cli.errors import UserError
from mlops_cli.target import Target

PREDICTIONS_SUFFIX = ".predictions.csv"
POLL_S = 1.0


def run(stack: Target, api: Api, model: str, folder: Path, version: int | None, output: Path, timeout_s: float, console: Console) -> dict:
    inputs = sorted(p for p in folder.glob("*.csv") if not p.name.endswith(PREDICTIONS_SUFFIX))
    if not inputs:
        raise UserError(f"{folder} holds no .csv files to score")
    s3, bucket = stack.client("s3"), stack.output("DataBucketName")
    prefix = f"batch/{model}/{folder.resolve().name}-{datetime.now(UTC):%Y%m%dT%H%M%S}/"
    for path in inputs:
        s3.upload_file(str(path), bucket, prefix + path.name)
    console.print(f"Uploaded {len(inputs)} files to s3://{bucket}/{prefix}")
    job = api.call("POST", f"models/{segment(model)}/batch", {"prefix": prefix, "version": version})
    execution = _follow(stack, job["execution_arn"], bucket, prefix, len(inputs), timeout_s, console)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for path in inputs:
        name = path.name.removesuffix(".csv") + PREDICTIONS_SUFFIX
        s3.download_file(bucket, prefix + name, str(output / name))
        written.append(str(output / name))
    console.print(f"Scored with version {job['version']}: {', '.join(written)}")
    return {
        "prefix": prefix,
        "version": job["version"],
        "execution_arn": job["execution_arn"],
        "status": execution["status"],
        "files": written,
    }


def _follow(stack: Target, execution_arn: str, bucket: str, prefix: str, total: int, timeout_s: float, console: Console) -> dict[str, Any]:
    sfn, s3 = stack.client("stepfunctions"), stack.client("s3")
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("files", total=total)
        while time.monotonic() < deadline:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
            progress.update(task, completed=sum(o["Key"].endswith(PREDICTIONS_SUFFIX) for o in listed))
            execution = sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] == "SUCCEEDED":
                return dict(execution)
            if execution["status"] != "RUNNING":
                reason = execution.get("cause") or execution.get("error") or execution["status"]
                raise UserError(f"batch job {execution_arn.rsplit(':', 1)[-1]} {execution['status']}: {reason}")
            time.sleep(POLL_S)
    raise UserError(f"batch job {execution_arn.rsplit(':', 1)[-1]} still runs after {timeout_s:.0f} s")
