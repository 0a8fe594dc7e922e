"""Moving traffic to a new version safely: the steps of the rollout state machine.

plan  -> the traffic steps for the spec's strategy (all_at_once, canary, linear, ab, shadow) and
         the challenger's alarms (errors, p99 latency) created for this model
shift -> the challenger's share for the current step
check -> after the bake: is any challenger alarm in ALARM? which step is next?
finish-> promote (all steps healthy), hold (A/B split, shadow or manual: waits for a decision), or roll back
"""

from __future__ import annotations

from typing import Any

from mlops.registry import CHALLENGER, Registry
from mlops.settings import API_SERVICE
from mlops.spec import ModelSpec
from mlops.traffic import TrafficStore

LINEAR_STEPS = [10, 25, 50, 75]
AB_SPLIT = 50
P99_LATENCY_MS = 250.0
ALARM_PREFIX = "mlops-"


def alarm_names(model: str) -> list[str]:
    return [f"{ALARM_PREFIX}{model}-challenger-errors", f"{ALARM_PREFIX}{model}-challenger-p99-latency"]


def plan(event: dict[str, Any], spec: ModelSpec, cloudwatch: Any, namespace: str) -> dict[str, Any]:
    rollout = spec.rollout
    steps = {
        "all_at_once": [],
        "canary": [rollout.canary_percent],
        "linear": LINEAR_STEPS,
        "ab": [AB_SPLIT],
        "shadow": [],
        "manual": [],
    }[rollout.strategy]
    _put_challenger_alarms(cloudwatch, namespace, event["model"])
    return {
        **event,
        "strategy": rollout.strategy,
        "steps": steps,
        "step": 0,
        "bake_seconds": rollout.bake_seconds if steps else 0,
        "hold": rollout.strategy in ("ab", "shadow", "manual"),
    }


def _put_challenger_alarms(cloudwatch: Any, namespace: str, model: str) -> None:
    # The same dimensions the API Lambda's metrics carry (Powertools adds the service).
    dimensions = [{"Name": "model", "Value": model}, {"Name": "variant", "Value": CHALLENGER}, {"Name": "service", "Value": API_SERVICE}]
    errors, latency = alarm_names(model)
    alarms = [
        (errors, "PredictionErrors", {"Statistic": "Sum"}, 1.0, "GreaterThanOrEqualToThreshold", "fails requests"),
        (latency, "PredictionLatency", {"ExtendedStatistic": "p99"}, P99_LATENCY_MS, "GreaterThanThreshold", "answers slowly (p99)"),
    ]
    for name, metric, statistic, threshold, comparison, meaning in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace=namespace,
            MetricName=metric,
            Dimensions=dimensions,
            Period=60,
            EvaluationPeriods=1,
            Threshold=threshold,
            ComparisonOperator=comparison,
            TreatMissingData="notBreaching",
            AlarmDescription=f"the challenger of {model} {meaning}",
            **statistic,
        )


def shift(state: dict[str, Any], traffic: TrafficStore, by: str) -> dict[str, Any]:
    policy = traffic.policy(state["model"])
    percent = state["steps"][state["step"]]
    shadow = state["version"] if state["strategy"] == "shadow" else policy["shadow"]
    traffic.set(state["model"], percent, shadow, policy["revision"], by=by)
    return {**state, "percent": percent}


def check(state: dict[str, Any], cloudwatch: Any) -> dict[str, Any]:
    alarms = cloudwatch.describe_alarms(AlarmNames=alarm_names(state["model"]))["MetricAlarms"]
    firing = [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]
    next_step = state["step"] + 1
    return {**state, "healthy": not firing, "firing": firing, "step": next_step, "more": next_step < len(state["steps"])}


def finish(state: dict[str, Any], registry: Registry, traffic: TrafficStore, by: str) -> dict[str, Any]:
    model = state["model"]
    if state.get("healthy") is False or "error" in state:
        why = f"alarm: {', '.join(state['firing'])}" if state.get("firing") else "a rollout step failed"
        aliases = registry.rollback(model, by=by, reason=why)
        traffic.reset_share(model, by)
        return {**state, "outcome": "rolled_back", "aliases": aliases}
    if state["hold"]:
        if state["strategy"] == "shadow":
            policy = traffic.policy(model)
            traffic.set(model, 0, state["version"], policy["revision"], by=by)
        return {**state, "outcome": "holding", "aliases": registry.aliases(model)}
    aliases = registry.promote(model, by=by)
    traffic.reset_share(model, by)
    return {**state, "outcome": "promoted", "aliases": aliases}
