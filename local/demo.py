"""make demo: the lifecycle as a user drives it, against a running LocalPlatform, with a summary.

Everything goes through the public surfaces a user has after a deploy: stack outputs from
CloudFormation, an upload to S3, the HTTP API, Step Functions, CloudWatch alarms and SNS.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
import urllib.request
from typing import Any

from local.outputs import read_outputs
from local.platform import LocalPlatform

EXECUTION_TIMEOUT_S = 300


def synthetic_dataset(rows: int = 600, seed: int = 7) -> bytes:
    """A churn-like table: numeric features and a binary label that depends on them."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tenure_months", "monthly_charges", "support_calls", "churned"])
    for _ in range(rows):
        tenure, charges, calls = rng.uniform(0, 72), rng.uniform(20, 120), rng.randint(0, 9)
        risk = 0.04 * calls + charges / 200 - tenure / 100
        writer.writerow([f"{tenure:.1f}", f"{charges:.2f}", calls, int(risk + rng.gauss(0, 0.15) > 0.25)])
    return buffer.getvalue().encode()


BROKEN_DATASET = b"tenure_months,monthly_charges,churned\n12,70.5,0\n3,99.0\n"


def wait_for_new_execution(sfn: Any, state_machine_arn: str, known: set[str]) -> dict[str, Any]:
    """The execution an upload started, once it has finished."""
    deadline = time.monotonic() + EXECUTION_TIMEOUT_S
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]:
            if execution["executionArn"] not in known and execution["status"] != "RUNNING":
                known.add(execution["executionArn"])
                return execution
        time.sleep(0.5)
    raise TimeoutError("no pipeline execution finished in time")


def http_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def run_demo(platform: LocalPlatform) -> int:
    checks: list[tuple[str, bool, str]] = []

    def check(name: str, ok: bool, detail: str = "") -> None:
        checks.append((name, ok, detail))
        print(f"  [{'ok' if ok else 'FAILED'}] {name}{': ' + detail if detail else ''}", flush=True)

    print(f"Local stack deployed in {platform.deploy_seconds:.1f} s; running the lifecycle:", flush=True)
    outputs = read_outputs(platform.client("cloudformation"), platform.stack_name)
    s3, sfn = platform.client("s3"), platform.client("stepfunctions")
    api, pipeline = outputs["ApiUrl"], outputs["TrainingPipelineArn"]
    status, body = http_json(api + "health")
    check("API answers GET /health", status == 200 and body.get("status") == "ok", f"{status} {body}")

    known: set[str] = set()
    started = time.monotonic()
    s3.put_object(Bucket=outputs["DataBucketName"], Key="datasets/churn/2026-11-26.csv", Body=synthetic_dataset())
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    registered = run.get("steps", {}).get("evaluate", {}).get("metrics", {})
    check(
        "upload -> pipeline -> model version 1",
        execution["status"] == "SUCCEEDED" and run.get("status") == "SUCCEEDED",
        f"run {execution['name'][:8]} {run.get('status')} in {time.monotonic() - started:.1f} s, test metrics {registered}",
    )

    s3.put_object(Bucket=outputs["DataBucketName"], Key="datasets/churn/broken.csv", Body=BROKEN_DATASET)
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    reason = (run.get("failure") or {}).get("reason", "")
    check("a broken upload ends FAILED with its reason", run.get("status") == "FAILED" and "line 3" in reason, reason)

    # The background loop may already have evaluated them; what matters is the state they are in now.
    platform.evaluate_alarms()
    alarms = platform.client("cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]
    firing = [alarm["AlarmName"] for alarm in alarms]
    expected = ("PipelineExecutionsFailed", "PipelineRunsFailed")
    check("the pipeline-failure alarms fire", all(any(e in name for name in firing) for e in expected), ", ".join(firing))

    rule = platform.events.rule("ScheduledChecks")
    outcomes = platform.events.fire_schedule(rule)
    check("the scheduled check runs and sees the champion", outcomes == [{"models_serving": {"churn": 1}}], json.dumps(outcomes))

    failed = [name for name, ok, _ in checks if not ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} lifecycle checks passed.")
    return 1 if failed else 0
