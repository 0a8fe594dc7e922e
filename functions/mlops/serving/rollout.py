"""Moving traffic to a new version safely: the steps of the rollout state machine.

plan  -> the traffic steps for the spec's strategy (all_at_once, canary, linear, ab, shadow) and
         the challenger's alarms (errors, p99 latency) created for this model
shift -> the challenger's share for the current step
check -> after the bake: is any challenger alarm in ALARM? which step is next?
judge -> A/B only: count the feedback per arm (and per segment); collecting (bake again; a bandit
         moves the split first), a decision (mlops.serving.abtest), or a guardrail in alarm stops it
finish-> promote (all steps healthy, or the A/B test says so), keep the champion (the A/B test says
         so), hold (shadow or manual: a person decides), or roll back (an alarm fired, a step failed)

A rollout is bound to the version it started for. Every step first asks whether that version is
still the challenger; if a newer version took its place, or a person promoted or rolled it back,
the rollout is *superseded*: its remaining steps pass through to finish, which changes nothing but
the rollout's own record. The writes that move traffic or aliases are conditional on the version
too, so a race between the question and the write cannot act on another version either.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from mlops.data.spec import ModelSpec
from mlops.registry.versions import CHALLENGER, CHAMPION, Registry
from mlops.serving import abtest, capture_reader
from mlops.serving.traffic import TrafficStore
from mlops.shared.errors import Conflict
from mlops.shared.items import now_iso
from mlops.shared.variables import PREDICT_SERVICE

LINEAR_STEPS = [10, 25, 50, 75]
ALARM_PREFIX = "mlops-"
ROLLOUT_BANDIT = "rollout-bandit"  # who moved the split, in the audit log


def alarm_names(model: str) -> list[str]:
    return [f"{ALARM_PREFIX}{model}-challenger-errors", f"{ALARM_PREFIX}{model}-challenger-p99-latency"]


# A/B checks per execution before it continues in a new one. One check is a Wait, two Tasks and
# three Choices: 18 history events, 36 with every Task retried; 500 stay under 25,000 either way
# (tests/infra/test_template.py counts them from the ASL).
CHECKS_PER_EXECUTION = 500
HISTORY_CHECKS = 100  # an A/B test's checks kept on its record (the model's state item stays far below 400 KB)


def superseded(state: dict[str, Any], registry: Registry) -> str | None:
    """Why this rollout no longer speaks for the model's challenger, or None while it does."""
    if "superseded" in state:
        return str(state["superseded"])
    version, aliases = state["version"], registry.aliases(state["model"])
    if aliases.get(CHALLENGER) == version:
        return None
    if aliases.get(CHAMPION) == version:
        return f"version {version} was promoted meanwhile"
    if CHALLENGER in aliases:
        return f"version {aliases[CHALLENGER]} replaced version {version} as the challenger"
    return f"version {version} is no longer the challenger (rolled back meanwhile)"


def _pass_through(state: dict[str, Any], why: str) -> dict[str, Any]:
    """The state that leads every remaining step of the machine straight to finish."""
    return {
        **state,
        "superseded": why,
        "steps": state.get("steps") or [],
        "bake_seconds": 0,
        "healthy": True,
        "more": False,
        "decision": "superseded",
        "reason": why,
    }


def plan(
    event: dict[str, Any], spec: ModelSpec, registry: Registry, traffic: TrafficStore, cloudwatch: Any, namespace: str, by: str
) -> dict[str, Any]:
    model, version = event["model"], event["version"]
    why = superseded(event, registry)
    if why is None and not traffic.begin_rollout(model, version, event.get("execution", "")):
        why = f"a rollout of a newer version of {model!r} runs"
    if why is not None:
        return _pass_through({**event, "strategy": spec.rollout.strategy, "steps": [], "hold": False}, why)
    rollout = spec.rollout
    steps = {
        "all_at_once": [],
        "canary": [rollout.canary_percent],
        "linear": LINEAR_STEPS,
        "ab": [rollout.ab.challenger_percent],
        "shadow": [],
        "manual": [],
    }[rollout.strategy]
    _put_challenger_alarms(cloudwatch, namespace, model, spec)
    planned = {
        **event,
        "strategy": rollout.strategy,
        "steps": steps,
        "step": 0,
        "bake_seconds": rollout.bake_seconds if steps else 0,
        "hold": rollout.strategy in ("shadow", "manual"),
    }
    if rollout.strategy == "ab":
        planned["experiment"] = plan_experiment(spec, registry, model, version)
        planned.update(checks_in_execution=0, checks_per_execution=CHECKS_PER_EXECUTION, generation=0)
    return planned


def plan_experiment(spec: ModelSpec, registry: Registry, model: str, version: int) -> dict[str, Any]:
    """The sample size per arm, fixed before any feedback is counted (see mlops.serving.abtest)."""
    settings, classification = spec.rollout.ab, spec.is_classification
    champion = registry.aliases(model)[CHAMPION]
    trained = registry.version(model, champion)["metrics"]
    baseline = trained["accuracy"] if classification else trained["rmse"]
    required = abtest.required_per_arm(baseline, settings.minimum_detectable_effect, settings.alpha, settings.power, classification)
    return {
        "champion_version": champion,
        "challenger_version": version,
        "metric": "accuracy" if classification else "mae",
        "baseline": baseline,
        "minimum_detectable_effect": settings.minimum_detectable_effect,
        "alpha": settings.alpha,
        "power": settings.power,
        "required_per_arm": required,
        "design": settings.design,
        "segment": settings.segment,
    }


def _put_challenger_alarms(cloudwatch: Any, namespace: str, model: str, spec: ModelSpec) -> None:
    """The guardrails (spec rollout.guardrails): any rollout step's check and every A/B check read them."""
    guardrails = spec.rollout.guardrails
    # The same dimensions the data plane's metric lines carry (mlops.serving.telemetry).
    dimensions = [
        {"Name": "model", "Value": model},
        {"Name": "variant", "Value": CHALLENGER},
        {"Name": "service", "Value": PREDICT_SERVICE},
    ]
    errors, latency = alarm_names(model)
    alarms = [
        (
            errors,
            "PredictionErrors",
            {"Statistic": "Sum"},
            guardrails.max_errors_per_minute,
            "GreaterThanOrEqualToThreshold",
            "fails requests",
        ),
        (
            latency,
            "PredictionLatency",
            {"ExtendedStatistic": "p99"},
            guardrails.max_p99_latency_ms,
            "GreaterThanThreshold",
            "answers slowly (p99)",
        ),
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


def shift(state: dict[str, Any], registry: Registry, traffic: TrafficStore, by: str) -> dict[str, Any]:
    if why := superseded(state, registry):
        return _pass_through(state, why)
    policy = traffic.policy(state["model"])
    percent = state["steps"][state["step"]]
    shadow = state["version"] if state["strategy"] == "shadow" else policy["shadow"]
    try:
        traffic.set(state["model"], percent, shadow, policy["revision"], by=by, challenger=state["version"])
    except Conflict:
        if why := superseded(state, registry):
            return _pass_through(state, why)
        raise
    if "experiment" in state:
        experiment = {**state["experiment"], "started_at": now_iso()}
        traffic.save_experiment(state["model"], {**experiment, "status": "collecting", "reason": "the test has started"})
        return {**state, "percent": percent, "experiment": experiment}
    return {**state, "percent": percent}


def check(state: dict[str, Any], registry: Registry, cloudwatch: Any) -> dict[str, Any]:
    if why := superseded(state, registry):
        return _pass_through(state, why)
    firing = _firing(cloudwatch, state["model"])
    next_step = state["step"] + 1
    return {**state, "healthy": not firing, "firing": firing, "step": next_step, "more": next_step < len(state["steps"])}


def _firing(cloudwatch: Any, model: str) -> list[str]:
    alarms = cloudwatch.describe_alarms(AlarmNames=alarm_names(model))["MetricAlarms"]
    return [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]


def judge(
    state: dict[str, Any], spec: ModelSpec, registry: Registry, s3: Any, capture_bucket: str, traffic: TrafficStore, cloudwatch: Any
) -> dict[str, Any]:
    """Counts the A/B test's outcomes so far and records the verdict where GET /traffic shows it.
    A challenger guardrail in alarm (errors, p99 latency) stops the test at once, whatever the counts."""
    if why := superseded(state, registry):
        return _pass_through(state, why)
    model, experiment, settings = state["model"], state["experiment"], spec.rollout.ab
    classification = spec.is_classification
    started = datetime.fromisoformat(experiment["started_at"])
    versions = (experiment["champion_version"], experiment["challenger_version"])
    arms = {version: abtest.Arm() for version in versions}
    segment, by_segment = experiment.get("segment"), dict[str, tuple[abtest.Arm, abtest.Arm]]()
    for outcome in capture_reader.outcomes(s3, capture_bucket, model, started, set(arms)):
        result = abtest.outcome_of(outcome.predicted, outcome.actual, classification)
        arms[outcome.version].add(result)
        if segment is not None:
            pair = by_segment.setdefault(str(outcome.inputs.get(segment, "")), (abtest.Arm(), abtest.Arm()))
            pair[versions.index(outcome.version)].add(result)
    champion, challenger = arms[versions[0]], arms[versions[1]]
    alpha = experiment["alpha"]  # as planned, even if the spec changed since
    share: int | None = None
    required, effect = experiment["required_per_arm"], experiment["minimum_detectable_effect"]
    previous = experiment.get("always_valid_p", 1.0)
    if experiment.get("design") == "sequential":
        decision, why, comparison = abtest.sequential_verdict(champion, challenger, required, alpha, effect, previous, classification)
    elif experiment.get("design") == "bandit":
        least = settings.bandit_min_percent
        decision, why, comparison, share = abtest.bandit_verdict(
            champion, challenger, required, alpha, effect, previous, least, classification
        )
    else:
        decision, why, comparison = abtest.verdict(champion, challenger, required, alpha, classification)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    if decision == "collecting" and elapsed > settings.max_seconds:
        decision, why = "keep_champion", f"not enough feedback within {settings.max_seconds} s ({why})"
    if firing := _firing(cloudwatch, model):
        decision, why = "rollback", f"guardrail: {', '.join(firing)} in alarm; the test stops ({why})"
    summary = {
        CHAMPION: abtest.arm_summary(champion, alpha, classification),
        CHALLENGER: abtest.arm_summary(challenger, alpha, classification),
    }
    record = {**experiment, **comparison, "status": decision, "reason": why, "checked_at": now_iso(), "arms": summary}
    if segment is not None:
        record["segments"] = abtest.segments(by_segment, alpha, classification)
    record["history"] = _history(traffic.experiment(model), record, experiment["challenger_version"])
    if share is not None and decision == "collecting":
        _share_for_bandit(traffic, model, experiment["challenger_version"], share)
    if not traffic.save_experiment(model, record):  # the challenger changed while the feedback was counted
        return _pass_through(state, superseded(state, registry) or "the challenger changed during the count")
    checks = state.get("checks_in_execution", 0) + 1
    # The sequential p-value is a running minimum over every check: the next check starts from it.
    carried = {**experiment, "always_valid_p": comparison["always_valid_p"]} if "always_valid_p" in comparison else experiment
    return {
        **state,
        "experiment": carried,
        "decision": decision,
        "reason": why,
        "bake_seconds": settings.check_seconds,
        "checks_in_execution": checks,
    }


def _history(previous: dict[str, Any] | None, record: dict[str, Any], challenger: int) -> list[dict[str, Any]]:
    """The test's checks so far, oldest first (at most HISTORY_CHECKS): the console draws the
    difference, its interval and each segment's over time from them."""
    earlier = previous.get("history", []) if previous and previous.get("challenger_version") == challenger else []
    keys = ("checked_at", "status", "difference", "interval", "p_value", "always_valid_p", "chance_challenger_better", "challenger_percent")
    entry = {key: record[key] for key in keys if key in record} | {"n": [record["arms"][CHAMPION]["n"], record["arms"][CHALLENGER]["n"]]}
    if "segments" in record:
        entry["segments"] = {
            value: {key: result[key] for key in ("difference", "interval", "verdict") if key in result}
            for value, result in record["segments"].items()
        }
    return [*earlier, entry][-HISTORY_CHECKS:]


def _share_for_bandit(traffic: TrafficStore, model: str, challenger: int, percent: int) -> None:
    """The bandit's next split; a person's change of the policy meanwhile wins (the write is
    conditional on the revision just read), and the next check tries again."""
    policy = traffic.policy(model)
    if policy["challenger_percent"] != percent:
        with contextlib.suppress(Conflict):
            traffic.set(model, percent, policy["shadow"], policy["revision"], by=ROLLOUT_BANDIT, challenger=challenger)


def hand_over(state: dict[str, Any], execution_arn: str, traffic: TrafficStore) -> dict[str, Any]:
    """The A/B test's state for the execution that carries it on (Step Functions' history of one
    execution is capped at 25,000 events; a 28-day test checked every few seconds needs thousands)."""
    generation = state.get("generation", 0) + 1
    first = state.get("first_execution") or execution_arn.rsplit(":", 1)[-1]
    next_execution = f"{first[:70]}-part{generation}"
    traffic.hand_over_rollout(state["model"], state["version"], f"{execution_arn.rsplit(':', 1)[0]}:{next_execution}")
    return {
        **state,
        "continued_from": execution_arn,
        "first_execution": first,
        "generation": generation,
        "checks_in_execution": 0,
        "next_execution": next_execution,
    }


def finish(state: dict[str, Any], registry: Registry, traffic: TrafficStore, by: str) -> dict[str, Any]:
    """Acts for the rollout's own version only; a superseded rollout ends without touching aliases or traffic."""
    model, version = state["model"], state["version"]
    outcome, aliases, why_superseded = _conclude(state, registry, traffic, by)
    reason = why_superseded or state.get("reason") or ""
    traffic.end_rollout(model, version, outcome, reason)
    return {**state, "outcome": outcome, "aliases": aliases, **({"superseded": reason} if why_superseded else {})}


def _conclude(state: dict[str, Any], registry: Registry, traffic: TrafficStore, by: str) -> tuple[str, dict[str, int], str | None]:
    """The outcome, the aliases after it, and why the rollout was superseded (None when it was not)."""
    model, version = state["model"], state["version"]
    if why := superseded(state, registry):
        return "superseded", registry.aliases(model), why
    try:
        if state.get("healthy") is False or "error" in state:
            why = f"alarm: {', '.join(state['firing'])}" if state.get("firing") else "a rollout step failed"
            aliases = registry.rollback(model, by=by, reason=why, version=version)
            traffic.reset_share(model, by)
            return "rolled_back", aliases, None
        if state.get("decision") in ("rollback", "keep_champion"):
            aliases = registry.rollback(model, by=by, reason=f"A/B test: {state['reason']}", version=version)
            traffic.reset_share(model, by)
            return "kept_champion", aliases, None
        if state["hold"]:
            if state["strategy"] == "shadow":
                policy = traffic.policy(model)
                traffic.set(model, 0, version, policy["revision"], by=by, challenger=version)
            return "holding", registry.aliases(model), None
        aliases = registry.promote(model, by=by, reason=f"A/B test: {state['reason']}" if "decision" in state else "", version=version)
        traffic.reset_share(model, by)
        return "promoted", aliases, None
    except Conflict:  # the version moved between the question and the conditional write
        if why := superseded(state, registry):
            return "superseded", registry.aliases(model), why
        raise
