"""The validation gate: a candidate is compared with the champion on the same held-out test set.

Absolute thresholds come from the spec (gates.minimum / gates.maximum per metric); the relative one
(gates.min_improvement) says how much better than the champion the candidate must be on the primary
metric, in that metric's direction (negative: how much worse it may be).
"""

from __future__ import annotations

from typing import Any

from mlops.data.spec import ModelSpec

LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})


def primary_metric(spec: ModelSpec) -> str:
    if spec.gates.metric:
        return spec.gates.metric
    return {"binary": "roc_auc", "multiclass": "f1", "regression": "rmse"}[spec.target.task]


def improvement(metric: str, candidate: float, champion: float) -> float:
    """How much better the candidate is, positive when better whatever the metric's direction."""
    return champion - candidate if metric in LOWER_IS_BETTER else candidate - champion


def decide(spec: ModelSpec, candidate: dict[str, float], champion: dict[str, float] | None) -> dict[str, Any]:
    reasons = []
    for metric, floor in spec.gates.minimum.items():
        if metric not in candidate:
            reasons.append(f"{metric} is not measured for a {spec.target.task} model")
        elif candidate[metric] < floor:
            reasons.append(f"{metric} {candidate[metric]:.4f} is below the minimum {floor}")
    for metric, ceiling in spec.gates.maximum.items():
        if metric not in candidate:
            reasons.append(f"{metric} is not measured for a {spec.target.task} model")
        elif candidate[metric] > ceiling:
            reasons.append(f"{metric} {candidate[metric]:.4f} is above the maximum {ceiling}")
    metric = primary_metric(spec)
    decision: dict[str, Any] = {"metric": metric, "candidate": candidate, "champion": champion}
    if champion is not None and metric in candidate and metric in champion:
        gained = improvement(metric, candidate[metric], champion[metric])
        decision["improvement"] = gained
        if gained < spec.gates.min_improvement:
            reasons.append(
                f"{metric} {candidate[metric]:.4f} vs champion {champion[metric]:.4f}: improvement {gained:+.4f} is under the"
                f" required {spec.gates.min_improvement:+.4f}"
            )
    decision["passed"] = not reasons
    decision["reasons"] = reasons
    return decision
