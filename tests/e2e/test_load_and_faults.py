"""Nothing lost under load and faults: concurrent clients predict and send feedback while a rollout
steps, a person rolls the challenger back and a new version registers; then capture delivery fails
for a while. Every answer is a 2xx, every answered prediction and accepted feedback is captured
exactly once, and what S3 refused is retried, delivered and alarmed on."""

from __future__ import annotations

import collections
import json
import random
import threading
import time

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset
from local.gateway import CONTROL_HEADER

MODEL = "load-churn"
CLIENTS = 8
SPEC = {
    **CHURN_SPEC,
    "gates": {"minimum": {"roc_auc": 0.75}, "min_improvement": -1.0},  # every retrained version becomes the challenger
    "rollout": {"strategy": "linear", "canary_percent": 25, "bake_seconds": 2},
    "monitoring": {"retraining": {"max_per_day": 0}},
}
RECORD = {"tenure_months": 3.0, "monthly_charges": 99.5, "support_calls": 6, "plan": "basic"}


@pytest.fixture(scope="module")
def served(local_stack, executions):
    assert local_stack.api("PUT", f"models/{MODEL}", SPEC)[0] in (200, 201)
    assert upload_and_train(local_stack, executions, seed=61)["status"] == "SUCCEEDED"
    local_stack.until(
        lambda: local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD]}), lambda a: a[0] == 200, "v1 serving"
    )


def upload_and_train(local_stack, executions, seed: int) -> dict:
    return local_stack.train(executions, MODEL, f"load-{seed}.csv", synthetic_dataset(seed=seed))


class Clients:
    """CLIENTS threads, each predicting then sending feedback for what it was answered, until stopped."""

    def __init__(self, local_stack) -> None:
        self._stack, self._stop = local_stack, threading.Event()
        self.predictions: list[tuple[int, dict]] = []
        self.feedback: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CLIENTS)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def served(self, variant: str, version: int) -> int:
        """How many answers came from this variant and version so far."""
        with self._lock:
            return sum(1 for s, b in self.predictions if s == 200 and (b["variant"], b["version"]) == (variant, version))

    def _run(self, client: int) -> None:
        rng, n = random.Random(client), 0
        while not self._stop.is_set():
            record = {**RECORD, "tenure_months": round(rng.uniform(1, 60), 1)}
            status, body = self._stack.api("POST", f"models/{MODEL}/predict", {"records": [record], "routing_key": f"{client}-{n}"})
            with self._lock:
                self.predictions.append((status, body if isinstance(body, dict) else {"raw": body}))
            if status == 200:
                answer = self._stack.api("POST", f"models/{MODEL}/feedback", {"prediction_id": body["prediction_id"], "actual": "yes"})
                with self._lock:
                    self.feedback.append((answer[0], body["prediction_id"]))
            n += 1


def captured(local_stack) -> dict[str, collections.Counter]:
    """prediction ids in the capture bucket, counted by kind of record."""
    s3, bucket = local_stack.client("s3"), local_stack.outputs["CaptureBucketName"]
    counts: dict[str, collections.Counter] = {"prediction": collections.Counter(), "feedback": collections.Counter()}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="captured/"):
        for item in page.get("Contents", []):
            for line in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode().splitlines():
                record = json.loads(line)
                if record.get("model") == MODEL and record.get("kind") in counts:
                    counts[record["kind"]][record["prediction_id"]] += 1
    return counts


def captured_all(local_stack, predictions: set[str], feedback: set[str]) -> dict[str, collections.Counter]:
    def complete(counts: dict[str, collections.Counter]) -> bool:
        return predictions <= set(counts["prediction"]) and feedback <= set(counts["feedback"])

    return local_stack.until(lambda: captured(local_stack), complete, "every answer captured", timeout_s=60)


def test_concurrent_clients_lose_nothing_while_a_rollout_steps_a_rollback_and_a_registration_happen(local_stack, executions, served):
    started = time.monotonic()
    with Clients(local_stack) as clients:
        assert upload_and_train(local_stack, executions, seed=62)["status"] == "SUCCEEDED"  # v2: challenger, its rollout starts
        local_stack.until(lambda: clients.served("challenger", 2), bool, "v2 serving its first step's share", timeout_s=90)
        status, rolled = local_stack.api("POST", f"models/{MODEL}/rollback", {"reason": "load test: a person drops v2"})
        assert status == 200 and "challenger" not in rolled["aliases"], rolled
        assert upload_and_train(local_stack, executions, seed=63)["status"] == "SUCCEEDED"  # v3 registers while clients call
        local_stack.until(lambda: clients.served("challenger", 3), bool, "v3 serving its first step's share", timeout_s=90)
    seconds = time.monotonic() - started
    statuses = collections.Counter(status for status, _ in clients.predictions) + collections.Counter(s for s, _ in clients.feedback)
    answered = {body["prediction_id"] for status, body in clients.predictions if status == 200}
    accepted = {pid for status, pid in clients.feedback if status == 202}
    versions = collections.Counter((body["variant"], body["version"]) for status, body in clients.predictions if status == 200)
    counts = captured_all(local_stack, answered, accepted)
    print(
        f"\nload: {len(clients.predictions)} predictions + {len(clients.feedback)} feedback in {seconds:.0f} s from {CLIENTS} clients;"
        f" statuses {dict(statuses)}; served {dict(versions)};"
        f" captured {len(counts['prediction'])} of {len(answered)} predictions, {len(counts['feedback'])} of {len(accepted)} feedback"
    )
    assert statuses and all(200 <= status < 300 for status in statuses), statuses  # no 5xx, and the champion never missing (no 503)
    assert {version for variant, version in versions if variant == "challenger"} == {2, 3}
    # Exactly once each (the bucket also holds this module's other requests, each once too).
    assert all(counts["prediction"][pid] == 1 for pid in answered) and set(counts["prediction"].values()) == {1}
    assert all(counts["feedback"][pid] == 1 for pid in accepted) and set(counts["feedback"].values()) == {1}


def test_capture_refused_for_a_while_is_retried_then_delivered_and_alarmed(local_stack, served):
    local_stack.control("faults/capture", {"seconds": 120})  # ended below, once the test has seen it
    answered = set()
    for n in range(30):
        status, body = local_stack.api("POST", f"models/{MODEL}/predict", {"records": [RECORD], "routing_key": f"fault-{n}"})
        assert status == 200, body  # serving does not wait on capture
        answered.add(body["prediction_id"])
    held = local_stack.until(
        lambda: local_stack.http("GET", f"{local_stack.api_base}/_local/capture", headers={CONTROL_HEADER: "1"}, signed=False)[1],
        lambda c: c["undelivered_lines"] >= 30,
        "the refused lines held for retry",
    )
    assert not answered & set(captured(local_stack)["prediction"])  # nothing reached the bucket during the fault
    local_stack.control("alarms/evaluate")
    alarms = local_stack.client("cloudwatch").describe_alarms(AlarmNamePrefix="MlopsPlatform-")["MetricAlarms"]
    states = {a["AlarmName"].split("-", 1)[1][:-8]: a["StateValue"] for a in alarms}
    assert states["MonitoringCaptureDeliveryFailing"] == "ALARM", states
    local_stack.control("faults/capture", {"seconds": 0})  # S3 accepts again
    counts = captured_all(local_stack, answered, set())  # the held lines, retried
    assert all(counts["prediction"][pid] == 1 for pid in answered)
    after = local_stack.http("GET", f"{local_stack.api_base}/_local/capture", headers={CONTROL_HEADER: "1"}, signed=False)[1]
    assert after == {"undelivered_lines": 0, "discarded_lines": 0}, (held, after)
