"""Performance estimated before labels arrive: confidence-based (CBPE) for classifiers, direct loss
estimation (DLE) for regressors, as NannyML does, from what the champion served.

Classifiers. A calibrated probability is the chance the label is right, so the expected confusion
matrix of served traffic follows from the probabilities alone: accuracy is the mean probability of
the predicted class, F1 comes from the expected true and false positives, ROC AUC from the expected
share of (positive, negative) pairs the scores order right. The calibration is measured at training
on the validation split and applied here when it helped on the test split (mlops.training.reference).
The interval is where the realized metric falls with 95% chance if the calibration holds: labels
drawn from the probabilities BOOTSTRAP_DRAWS times, the metric computed on each draw.

Regressors. At training two models learn, from the features and the prediction, the absolute and
the squared error of each row (on the validation split, exported to ONNX); served rows are scored
by them batch by batch, so the check holds sums, not rows. The interval comes from the spread of
the rows' (realized - estimated) loss on the test split.

A check compares the estimate with the same estimate on the test split at training (which cancels
any bias the calibration leaves): "decayed" when it fell by more than the spec's max_decay and the
fall is significant at the check's alpha (set by the expected time between false alarms). The
significance uses the realized metric's spread on both sides (for a binary accuracy at least the
estimate's own, as the predicted class's probability lies in [1/2, 1]); the unit tests simulate
the false-alarm rate it gives.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from mlops.data.spec import ModelSpec
from mlops.monitoring.ranks import average_ranks
from mlops.training.gate import LOWER_IS_BETTER, primary_metric

BOOTSTRAP_DRAWS = 200
DRAWS_PER_BLOCK = 25  # bounds memory for multiclass draws (draws x rows x classes)
MAX_ROWS = 20_000  # served predictions kept for a classifier's estimate (a uniform reservoir)
NOT_ENOUGH_DATA, DECAYED, HEALTHY = "not enough data", "decayed", "healthy"
NORMAL = NormalDist()
Z95 = NORMAL.inv_cdf(0.975)


# --- classifiers ----------------------------------------------------------------------------


def calibrated(probabilities: np.ndarray, calibration: dict[str, Any], classes: list[str]) -> np.ndarray:
    """Applies the piecewise-linear maps fitted at training (the positive class's for a binary task)."""
    if not calibration.get("calibrated"):
        return probabilities
    maps = calibration["maps"]
    if len(classes) == 2:
        positive = np.interp(probabilities[:, 1], maps[classes[1]]["x"], maps[classes[1]]["y"])
        return np.column_stack([1 - positive, positive])
    mapped = np.column_stack([np.interp(probabilities[:, j], maps[c]["x"], maps[c]["y"]) for j, c in enumerate(classes)])
    totals = mapped.sum(axis=1, keepdims=True)
    return np.where(totals > 0, mapped / np.where(totals > 0, totals, 1), probabilities)


def expected_metrics(probabilities: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> dict[str, float]:
    """CBPE's point estimates from calibrated probabilities (rows x classes) and predicted class indices.
    Binary tasks (two columns, the second positive) also get F1 of the positive class and, from the
    raw positive `scores`, ROC AUC; multiclass tasks get macro F1."""
    n, k = probabilities.shape
    right = probabilities[np.arange(n), predicted]
    result = {"accuracy": float(right.mean())}
    f1s = []
    for c in range(k) if k > 2 else (1,):
        mine = predicted == c
        true_positive = float(probabilities[mine, c].sum())
        false_positive = float(mine.sum()) - true_positive
        false_negative = float(probabilities[~mine, c].sum())
        denominator = 2 * true_positive + false_positive + false_negative
        f1s.append(2 * true_positive / denominator if denominator else 0.0)
    result["f1"] = float(np.mean(f1s))
    if k == 2 and scores is not None:
        auc = _expected_auc(probabilities[:, 1], scores)
        if auc is not None:
            result["roc_auc"] = auc
    return result


def _expected_auc(positive: np.ndarray, scores: np.ndarray) -> float | None:
    """E[pairs ordered right] / E[pairs], ties counting half, a row never paired with itself."""
    negative = 1 - positive
    values, group = np.unique(scores, return_inverse=True)
    p_group = np.bincount(group, weights=positive, minlength=len(values))
    n_group = np.bincount(group, weights=negative, minlength=len(values))
    self_pairs = float(np.sum(positive * negative))
    negatives_below = np.cumsum(n_group) - n_group
    within = np.bincount(group, weights=positive * negative, minlength=len(values))
    ordered = float(np.sum(p_group * negatives_below) + 0.5 * np.sum(p_group * n_group - within))
    pairs = float(positive.sum() * negative.sum()) - self_pairs
    return ordered / pairs if pairs > 0 else None


def realized_draws(probabilities: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None, seed: int) -> dict[str, np.ndarray]:
    """The metrics of BOOTSTRAP_DRAWS label vectors drawn from the probabilities."""
    rng = np.random.default_rng(seed)
    n, k = probabilities.shape
    draws: dict[str, list[float]] = {"accuracy": [], "f1": [], "roc_auc": []}
    ranks = average_ranks(scores) if k == 2 and scores is not None else None
    cumulative = np.cumsum(probabilities, axis=1)
    for start in range(0, BOOTSTRAP_DRAWS, DRAWS_PER_BLOCK):
        block = min(DRAWS_PER_BLOCK, BOOTSTRAP_DRAWS - start)
        labels = (rng.random((block, n, 1)) > cumulative[None, :, :-1]).sum(axis=2)
        right = labels == predicted[None, :]
        draws["accuracy"] += right.mean(axis=1).tolist()
        f1s = []
        for c in range(k) if k > 2 else (1,):
            actual, mine = labels == c, predicted == c
            true_positive = (actual & mine[None, :]).sum(axis=1)
            denominator = mine.sum() + actual.sum(axis=1)
            f1s.append(np.where(denominator > 0, 2 * true_positive / np.maximum(denominator, 1), 0.0))
        draws["f1"] += np.mean(f1s, axis=0).tolist()
        if ranks is not None:
            positives = (labels == 1).sum(axis=1)
            rank_sums = (labels == 1).astype(np.float64) @ ranks
            both = (positives > 0) & (positives < n)
            auc = (rank_sums - positives * (positives + 1) / 2) / np.maximum(positives * (n - positives), 1)
            draws["roc_auc"] += auc[both].tolist()
    return {metric: np.asarray(values) for metric, values in draws.items() if values}


def confidence_estimate(probabilities: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Per metric: the estimate, the 95% interval of the realized metric, and its spread."""
    estimate = expected_metrics(probabilities, predicted, scores)
    draws = realized_draws(probabilities, predicted, scores, seed)
    return {
        metric: {"estimate": value, "interval": np.quantile(draws[metric], [0.025, 0.975]).tolist(), "sd": float(draws[metric].std())}
        for metric, value in estimate.items()
        if metric in draws and len(draws[metric]) > 1
    }


class ConfidenceEstimate:
    """Collects the champion's served probabilities (a seeded reservoir of MAX_ROWS) for CBPE."""

    def __init__(self, reference: dict[str, Any], seed: int) -> None:
        self.reference, self.classes, self.seed = reference, reference["classes"], seed
        self.rows = np.zeros((0, len(self.classes)))
        self.labels: list[int] = []
        self.seen = 0
        self._rng = np.random.default_rng(seed)

    def add(self, columns: dict[str, Any], outputs: list[dict[str, Any]]) -> None:
        index = {c: i for i, c in enumerate(self.classes)}
        answered = [o for o in outputs if o.get("probabilities") and str(o.get("label")) in index]
        if not answered:
            return
        batch = np.asarray([[float(o["probabilities"].get(c, 0.0)) for c in self.classes] for o in answered])
        labels = [index[str(o["label"])] for o in answered]
        room = max(MAX_ROWS - len(self.rows), 0)
        self.rows = np.vstack([self.rows, batch[:room]])
        self.labels += labels[:room]
        # Algorithm R over the rest: row t (0-based) replaces a random slot with chance MAX_ROWS / (t + 1).
        positions = np.arange(self.seen + room, self.seen + len(batch))
        slots = (self._rng.random(len(positions)) * (positions + 1)).astype(np.int64)
        for offset, slot in zip(range(room, len(batch)), slots, strict=True):
            if slot < MAX_ROWS:
                self.rows[slot], self.labels[slot] = batch[offset], labels[offset]
        self.seen += len(batch)

    def estimate(self) -> dict[str, Any]:
        if not self.labels:
            return {}
        probabilities = calibrated(self.rows, self.reference["calibration"], self.classes)
        scores = self.rows[:, 1] if len(self.classes) == 2 else None
        return confidence_estimate(probabilities, np.asarray(self.labels), scores, self.seed)

    @property
    def n(self) -> int:
        return self.seen


# --- regressors -----------------------------------------------------------------------------


class LossEstimate:
    """Scores served rows with the two loss models, batch by batch; keeps their sums."""

    def __init__(self, reference: dict[str, Any], models: dict[str, bytes]) -> None:
        import onnxruntime  # in the serving layer, which the checking function has

        self.reference = reference
        self.sessions = {loss: onnxruntime.InferenceSession(body, providers=["CPUExecutionProvider"]) for loss, body in models.items()}
        self.sums = {loss: 0.0 for loss in models}
        self.n = 0

    def add(self, columns: dict[str, Any], outputs: list[dict[str, Any]]) -> None:
        served = [i for i, o in enumerate(outputs) if "value" in o]
        if not served:
            return
        inputs = loss_model_inputs(
            self.reference, {k: [v[i] for i in served] for k, v in columns.items()}, [outputs[i]["value"] for i in served]
        )
        for loss, session in self.sessions.items():
            self.sums[loss] += float(np.clip(session.run(None, inputs)[0].ravel(), 0, None).sum())
        self.n += len(served)

    def estimate(self) -> dict[str, Any]:
        if not self.n:
            return {}
        spread = self.reference["residual_sd"]
        mae, mse = self.sums["absolute"] / self.n, self.sums["squared"] / self.n
        mae_sd, mse_sd = spread["absolute"] / math.sqrt(self.n), spread["squared"] / math.sqrt(self.n)
        rmse = math.sqrt(mse)
        return {
            "mae": {"estimate": mae, "interval": [max(mae - Z95 * mae_sd, 0.0), mae + Z95 * mae_sd], "sd": mae_sd},
            "rmse": {
                "estimate": rmse,
                "interval": [math.sqrt(max(mse - Z95 * mse_sd, 0.0)), math.sqrt(mse + Z95 * mse_sd)],
                "sd": mse_sd / (2 * rmse) if rmse > 0 else mse_sd,  # the delta method
            },
        }


def loss_model_inputs(reference: dict[str, Any], columns: dict[str, Any], predictions: list[Any]) -> dict[str, np.ndarray]:
    """The loss models' ONNX inputs: the numeric features then the prediction, and the categorical ones."""
    rows = len(predictions)
    numeric = [np.asarray(columns.get(name, [np.nan] * rows), dtype=np.float64) for name in reference["numeric"]]
    numeric.append(np.asarray(predictions, dtype=np.float64))
    inputs = {"numeric": np.column_stack(numeric).astype(np.float32)}
    if reference["categorical"]:
        values = [[("" if v is None else str(v)) for v in columns.get(name, [""] * rows)] for name in reference["categorical"]]
        inputs["categorical"] = np.asarray(values, dtype=object).T.astype(str)
    return inputs


# --- the check ------------------------------------------------------------------------------


def verdict(spec: ModelSpec, reference: dict[str, Any], estimated: dict[str, Any], served: int, alpha: float) -> dict[str, Any]:
    """The estimate of the primary metric (or accuracy / RMSE when it cannot be estimated) against
    the same estimate on the test split at training."""
    rules = spec.monitoring.performance
    metric = primary_metric(spec)
    if metric not in reference["reference"]:
        metric = "accuracy" if spec.is_classification else "rmse"
    result: dict[str, Any] = {
        "method": reference["method"],
        "metric": metric,
        "n": served,
        "reference": reference["reference"],
        "metrics": estimated,
        "max_decay": rules.max_decay,
        "alpha": alpha,
    }
    entry = estimated.get(metric)
    if served < rules.estimate_min_samples or entry is None:
        return {**result, "verdict": NOT_ENOUGH_DATA}
    trained = reference["reference"][metric]
    decay = entry["estimate"] - trained if metric in LOWER_IS_BETTER else trained - entry["estimate"]
    # The reference is itself an estimate over the test split's rows: both spreads count.
    spread = math.hypot(entry["sd"], reference.get("reference_sd", {}).get(metric, 0.0))
    p_value = 1 - NORMAL.cdf(decay / spread) if spread > 0 else float(decay <= 0)
    decayed = decay > rules.max_decay and p_value < alpha
    return {**result, "decay": decay, "p_value": p_value, "verdict": DECAYED if decayed else HEALTHY}
