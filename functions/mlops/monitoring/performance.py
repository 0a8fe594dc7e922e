"""Live model quality: captured predictions joined with the ground truth sent to /feedback.

Per variant over the spec's window: accuracy, F1 and ROC AUC (binary), or RMSE and MAE, compared
with the primary metric the version scored at training time on its test split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from mlops.data.spec import ModelSpec
from mlops.monitoring.ranks import average_ranks
from mlops.serving.capture_reader import Outcome
from mlops.training.gate import LOWER_IS_BETTER, primary_metric

NOT_ENOUGH_DATA, DECAYED, HEALTHY = "not enough data", "decayed", "healthy"


def live_metrics(spec: ModelSpec, outcomes: list[Outcome]) -> dict[str, float]:
    if not spec.is_classification:
        errors = np.asarray([float(o.predicted["value"]) - float(o.actual) for o in outcomes])
        return {"rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(np.abs(errors)))}
    predicted = np.asarray([str(o.predicted.get("label")) for o in outcomes])
    actual = np.asarray([str(o.actual) for o in outcomes])
    result = {"accuracy": float(np.mean(predicted == actual))}
    classes = spec.target.classes or sorted(set(actual) | set(predicted))
    if spec.target.task == "binary":
        positive = classes[-1]
        true_positive = float(np.sum((predicted == positive) & (actual == positive)))
        predicted_positive, actual_positive = float(np.sum(predicted == positive)), float(np.sum(actual == positive))
        result["f1"] = 2 * true_positive / (predicted_positive + actual_positive) if predicted_positive + actual_positive else 0.0
        scores = np.asarray([float(o.predicted.get("probabilities", {}).get(positive, np.nan)) for o in outcomes])
        if not np.isnan(scores).any() and 0 < actual_positive < len(actual):
            result["roc_auc"] = roc_auc(actual == positive, scores)
    else:
        f1s = []
        for label in classes:
            tp = float(np.sum((predicted == label) & (actual == label)))
            denominator = float(np.sum(predicted == label) + np.sum(actual == label))
            f1s.append(2 * tp / denominator if denominator else 0.0)
        result["f1"] = float(np.mean(f1s))
    return result


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """The Mann-Whitney form: the chance a positive outranks a negative (ties count half)."""
    ranks = average_ranks(scores)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def check(spec: ModelSpec, outcomes: Iterable[Outcome], trained: dict[int, dict[str, float]]) -> dict[str, Any]:
    """Per variant: live metrics, the training value of the primary metric, and a verdict.

    `trained` maps a version to the metrics it scored at training time."""
    rules, metric = spec.monitoring.performance, primary_metric(spec)
    by_version: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_version[outcome.version].append(outcome)
    variants = {}
    for version, joined in sorted(by_version.items()):
        entry: dict[str, Any] = {"version": version, "variant": joined[-1].variant, "n": len(joined)}
        reference = trained.get(version, {}).get(metric)
        entry["trained"] = reference
        if len(joined) < rules.min_samples or reference is None:
            entry["verdict"] = NOT_ENOUGH_DATA
        else:
            entry["live"] = live_metrics(spec, joined)
            value = entry["live"].get(metric)
            if value is None:  # e.g. ROC AUC while only one class has come back
                entry["verdict"] = NOT_ENOUGH_DATA
            else:
                entry["decay"] = (value - reference) if metric in LOWER_IS_BETTER else (reference - value)
                entry["verdict"] = DECAYED if entry["decay"] > rules.max_decay else HEALTHY
        variants[str(version)] = entry
    verdicts = {entry["verdict"] for entry in variants.values()}
    overall = DECAYED if DECAYED in verdicts else HEALTHY if HEALTHY in verdicts else NOT_ENOUGH_DATA
    return {"metric": metric, "window_hours": rules.window_hours, "verdict": overall, "versions": variants}
