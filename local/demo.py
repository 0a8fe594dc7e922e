"""make demo: the lifecycle as a user drives it, against a running LocalPlatform, with a summary.

Everything goes through the public surfaces a user has after a deploy: stack outputs from
CloudFormation, an upload to S3, the HTTP API, Step Functions, CloudWatch alarms and SNS.
"""

from __future__ import annotations

import random
import time
from typing import Any

from local.outputs import read_outputs
from local.platform import LOCAL_CREDENTIALS, LocalPlatform
from mlops_cli.signing import signed_json

EXECUTION_TIMEOUT_S = 300


CHURN_SPEC = {
    "description": "Will a subscriber cancel within 90 days?",
    "target": {"name": "churned", "task": "binary", "classes": ["no", "yes"]},
    "features": [
        {"name": "tenure_months", "type": "numeric", "minimum": 0, "maximum": 120},
        {"name": "monthly_charges", "type": "numeric", "minimum": 0, "nullable": True},
        {"name": "support_calls", "type": "numeric", "minimum": 0},
        {"name": "plan", "type": "categorical", "categories": ["basic", "plus", "pro"]},
    ],
    "data": {"min_rows": 100, "max_invalid_row_fraction": 0.05},
    "training": {"algorithm": "logistic_regression"},
    "gates": {"minimum": {"roc_auc": 0.75}},
}

# What real exports contain now and then: a negative tenure, an unknown plan, a formula.
BAD_ROWS = ["-3,50.00,1,basic,no", "12,70.10,2,gold,yes", '30,45.00,0,"=HYPERLINK(""http://x"")",no']


def synthetic_dataset(rows: int = 600, seed: int = 7, bad_rows: bool = True, labels_lost: bool = False) -> bytes:
    """A churn-like table whose label depends on the features, with a few bad rows mixed in.

    labels_lost: an export whose labels were scrambled (joined on the wrong key): worse data that
    still passes validation, which only the gate can catch.
    """
    rng = random.Random(seed)
    lines = ["customer_id,tenure_months,monthly_charges,support_calls,plan,churned"]
    for i in range(rows):
        tenure, charges, calls = rng.uniform(0, 72), rng.uniform(20, 120), rng.randint(0, 9)
        risk = 0.04 * calls + charges / 200 - tenure / 100
        churned = "yes" if risk + rng.gauss(0, 0.15) > 0.25 else "no"
        if labels_lost:
            churned = rng.choice(["yes", "no"])
        charges_text = "" if i % 50 == 0 else f"{charges:.2f}"
        lines.append(f"C{i:05d},{tenure:.1f},{charges_text},{calls},{rng.choice(['basic', 'plus', 'pro'])},{churned}")
        if bad_rows and i % 200 == 100:
            lines.append("C99999," + BAD_ROWS[(i // 200) % len(BAD_ROWS)])
    return ("\n".join(lines) + "\n").encode()


# Fully broken: an export that lost its label column.
BROKEN_DATASET = b"customer_id,tenure_months,monthly_charges,support_calls,plan\nC1,12,70.5,1,basic\nC2,3,99.0,4,pro\n"


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


def http_json(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    # The API authorizes by IAM, so every call is signed, as in AWS; local mode's own key is the account's root.
    return signed_json(method, url, body, LOCAL_CREDENTIALS)


# What the team changes once v1 serves: check drift and quality on every platform tick, retrain
# on drift with the labelled traffic (the newest data alone is what v1 learned from: a run on it
# would make v1 again), roll a retrained version out as a short canary.
MONITORED_SPEC = {
    **CHURN_SPEC,
    "rollout": {"strategy": "canary", "canary_percent": 50, "bake_seconds": 3},
    "monitoring": {
        "check_every_minutes": 0,
        "drift": {"min_samples": 200},
        "retraining": {"cooldown_minutes": 60, "data": "latest_plus_feedback"},
    },
}


def customers(rows: int, seed: int, moved: bool) -> list[dict[str, Any]]:
    """Traffic like the training data, or (moved) longer-tenured customers who call support far more."""
    rng = random.Random(seed)
    records = []
    for _ in range(rows):
        record = {
            "tenure_months": round(rng.uniform(0, 72), 1),
            "monthly_charges": round(rng.uniform(20, 120), 2),
            "support_calls": rng.randint(0, 9),
            "plan": rng.choice(["basic", "plus", "pro"]),
        }
        if moved:
            record |= {"tenure_months": round(rng.uniform(60, 120), 1), "support_calls": rng.randint(6, 15)}
        records.append(record)
    return records


def churned(record: dict[str, Any]) -> str:
    """The truth synthetic_dataset's labels follow (without its noise): what feedback reports later."""
    risk = 0.04 * record["support_calls"] + record["monthly_charges"] / 200 - record["tenure_months"] / 100
    return "yes" if risk > 0.25 else "no"


def serve_with_feedback(send: Any, model: str, records: list[dict[str, Any]]) -> None:
    """Predictions 100 records a request, then each record's truth sent back as feedback.
    `send(method, path, body) -> (status, answer)` is the caller's signed API call."""
    for start in range(0, len(records), 100):
        batch = records[start : start + 100]
        status, answer = send("POST", f"models/{model}/predict", {"records": batch})
        if status != 200:
            raise RuntimeError(f"predict answered {status}: {answer}")
        for index, record in enumerate(batch):
            body = {"prediction_id": answer["prediction_id"], "actual": churned(record), "index": index}
            status, accepted = send("POST", f"models/{model}/feedback", body)
            if status != 202:
                raise RuntimeError(f"feedback answered {status}: {accepted}")


def checked(platform: LocalPlatform, api: str) -> dict[str, Any]:
    """Ticks the platform schedule and delivers what it causes, until the model's new report is in."""
    before = http_json(api + "models/churn/drift")[1] or {}
    platform.fire_schedule("ScheduledChecks")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        platform.events.drain(wait=True)
        status, report = http_json(api + "models/churn/drift")
        if status == 200 and report.get("check_id") != before.get("check_id"):
            return report
        time.sleep(0.5)
    raise TimeoutError("the model check did not report")


def monitor(platform: LocalPlatform, api: str, sfn: Any, pipeline: str, outputs: dict, known: set[str], check: Any) -> None:
    status, registered = http_json(api + "models/churn", "PUT", MONITORED_SPEC)
    check("PUT /models/churn turns on monitoring and retraining", status in (200, 201), f"spec version {registered.get('spec_version')}")
    for moved, seed in ((False, 21), (True, 22)):
        records = customers(300, seed, moved)
        serve_with_feedback(lambda method, path, body: http_json(api + path, method, body), "churn", records)
        report = checked(platform, api)
        drift = report.get("drift", {})
        scores = {name: round(f["effect_size"], 2) for name, f in drift.get("features", {}).items()}
        expected = (["support_calls", "tenure_months"], "drift") if moved else ([], "no drift")
        check(
            f"{'moved' if moved else 'steady'} traffic -> drift check says {expected[1]!r}",
            (drift.get("drifted_features"), drift.get("verdict")) == expected,
            f"{drift.get('rows')} rows; effect sizes {scores}; report s3://{outputs['ArtifactsBucketName']}/{report.get('html_key')}",
        )
    started = time.monotonic()
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    trigger = run.get("steps", {}).get("ingest", {}).get("metadata", {})  # the upload of latest data + feedback names its finding
    rollout_arn = outputs["RolloutArn"].replace(":stateMachine:", ":execution:") + ":churn-v2"
    rollout = wait_for_execution_arn(sfn, rollout_arn)
    status, traffic = http_json(api + "models/churn/traffic")
    check(
        "drift -> retraining on the data plus labelled traffic -> gate -> canary -> version 2 is champion",
        run.get("status") == "SUCCEEDED" and trigger.get("trigger") == "drift" and traffic.get("aliases") == {"champion": 2},
        f"run {execution['name']} (trigger {trigger.get('trigger')}, check {trigger.get('check-id')}); "
        f"rollout {rollout['status']}; {time.monotonic() - started:.1f} s",
    )


def wait_for_execution_arn(sfn: Any, arn: str, timeout_s: float = EXECUTION_TIMEOUT_S) -> dict[str, Any]:
    """A named execution once it has finished (it may not have started yet)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            execution = sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution
        except sfn.exceptions.ExecutionDoesNotExist:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{arn} did not finish in time")


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

    status, registered = http_json(api + "models/churn", "PUT", CHURN_SPEC)
    check("PUT /models/churn registers the spec", status in (200, 201), f"{status}, spec version {registered.get('spec_version')}")

    known: set[str] = set()
    bucket = outputs["DataBucketName"]
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key="datasets/churn/2026-11-26.csv", Body=synthetic_dataset())
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    metrics = run.get("steps", {}).get("evaluate", {}).get("metrics", {})
    warnings = run.get("steps", {}).get("validate", {}).get("warnings", [])
    check(
        "upload with a few bad rows -> validated, versioned, trained, version 1",
        execution["status"] == "SUCCEEDED" and run.get("status") == "SUCCEEDED",
        f"{time.monotonic() - started:.1f} s, warnings {warnings}, test metrics {metrics}",
    )

    customer = {"tenure_months": 2.0, "monthly_charges": 110.0, "support_calls": 7, "plan": "basic"}
    status, answer = http_json(api + "models/churn/predict", "POST", {"records": [customer]})
    prediction = (answer.get("predictions") or [{}])[0]
    check(
        "POST /models/churn/predict answers from the champion",
        status == 200 and answer.get("version") == 1 and "label" in prediction,
        f"{status}: {prediction.get('label')} {prediction.get('probabilities')} (v{answer.get('version')}, {answer.get('variant')})",
    )

    s3.put_object(Bucket=bucket, Key="datasets/churn/same-again.csv", Body=synthetic_dataset())
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    status, listing = http_json(api + "models/churn/datasets")
    versions = [d["version"][:12] for d in listing.get("datasets", [])]
    check(
        "the same content again -> same version, no retraining",
        "skipped" in run.get("steps", {}) and len(versions) == 1,
        f"dataset versions {versions}; {run.get('steps', {}).get('skipped', {}).get('reason')}",
    )

    monitor(platform, api, sfn, pipeline, outputs, known, check)

    s3.put_object(Bucket=bucket, Key="datasets/churn/scrambled-labels.csv", Body=synthetic_dataset(seed=11, labels_lost=True))
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    status, versions = http_json(api + "models/churn/versions")
    check(
        "worse data -> rejected by the gate, version 2 stays champion",
        (run.get("failure") or {}).get("error") == "GateFailed" and versions.get("aliases", {}).get("champion") == 2,
        str((run.get("failure") or {}).get("reason")),
    )

    s3.put_object(Bucket=bucket, Key="datasets/churn/broken.csv", Body=BROKEN_DATASET)
    execution = wait_for_new_execution(sfn, pipeline, known)
    status, run = http_json(api + f"runs/{execution['name']}")
    failure = run.get("failure") or {}
    check(
        "a broken upload is quarantined and its run FAILED with the reason",
        run.get("status") == "FAILED" and failure.get("quarantined", "").startswith("quarantine/churn/"),
        f"{failure.get('reason')} -> {failure.get('quarantined')}",
    )

    # The background loop may already have evaluated them; what matters is the state they are in now.
    platform.evaluate_alarms()
    alarms = platform.client("cloudwatch").describe_alarms(StateValue="ALARM")["MetricAlarms"]
    firing = [alarm["AlarmName"] for alarm in alarms]
    expected = ("PipelineExecutionsFailed", "PipelineRunsFailed")
    check("the pipeline-failure alarms fire", all(any(e in name for name in firing) for e in expected), ", ".join(firing))

    cloudwatch = platform.client("cloudwatch")
    template_alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{platform.stack_name}-")["MetricAlarms"]
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    check(
        "alarms and dashboards: the template's, and the model's own",
        len(template_alarms) > 20 and outputs["PlatformDashboardName"] in dashboards and "mlops-churn" in dashboards,
        f"{len(template_alarms)} platform alarms (API 5xx and p99, errors, throttles, dead letters, failed executions);"
        f" dashboards {dashboards}",
    )

    failed = [name for name, ok, _ in checks if not ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} lifecycle checks passed.")
    return 1 if failed else 0
