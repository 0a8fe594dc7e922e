"""Data and prediction drift: captured traffic against the training baseline of the version serving it.

Per numeric feature: the population stability index over the baseline's decile bins, and a
two-sample Kolmogorov-Smirnov test on the baseline's percentile bins (D is exact at the bin
edges, so it is at most one percentile off the exact statistic). Per categorical feature: a
chi-square test of homogeneity between the two samples and the Jensen-Shannon distance (natural
log, as scipy). Predictions get the same treatment (labels as a category, values as a number).

A feature drifts when its test is significant after a multiple-testing correction across every
test of the check (Holm by default, which keeps the chance of any false alarm per check at alpha)
and its effect size passes the spec's threshold, so that a tiny, practically irrelevant shift
that a million rows make "significant" is not called drift. Below `min_samples` rows the verdict
is "not enough data", never a guess. All features together get one more test of the family
(mlops.monitoring.multivariate), for a shift in how they move together that no single one shows.

Alpha is per check, and checks run on every tick: it comes from the expected time between false
alarms the spec asks for (`monitoring.false_alarm_days`, see Monitoring.alpha_per_check).

Streaming with bounded memory: values are binned batch by batch as they are read; only bin
counts and (bounded) category counts are kept, whatever the number of rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from mlops.data import missing
from mlops.data.spec import DriftRules, ModelSpec
from mlops.monitoring import multivariate
from mlops.shared.multiple_testing import correct

BATCH_ROWS = 10_000
PSI_BINS = 10
MAX_CATEGORIES = 1000
OTHER = "__other__"
PREDICTION = "__prediction__"
NOT_ENOUGH_DATA, DRIFT, NO_DRIFT = "not enough data", "drift", "no drift"
# A version registered before baselines were recorded has nothing to compare with: say so.
NO_BASELINE = "no baseline"


class NumericColumn:
    """Counts over the baseline's percentile bins (one binary search per value, per batch); the
    PSI uses the same counts merged into ten groups of about a tenth of the baseline each."""

    def __init__(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.edges = np.asarray(profile.get("fine_edges", profile["bin_edges"]), dtype=np.float64)
        self.expected = np.asarray(profile.get("fine_counts", profile["bin_counts"]), dtype=np.float64)
        self.counts = np.zeros(len(self.edges) + 1, dtype=np.int64)
        share_before = (np.cumsum(self.expected) - self.expected) / max(self.expected.sum(), 1)
        self.groups = np.minimum((share_before * PSI_BINS + 1e-9).astype(np.int64), PSI_BINS - 1)
        self.nulls = 0
        # Values outside the training split's range (data quality); baselines before it was recorded have none.
        self.range = (profile["minimum"], profile["maximum"]) if "minimum" in profile else None
        self.out_of_range = 0

    def add_array(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        missing = np.isnan(values)
        self.nulls += int(missing.sum())
        present = values[~missing]
        self.counts += np.bincount(np.searchsorted(self.edges, present, side="right"), minlength=len(self.counts))
        if self.range is not None:
            self.out_of_range += int(np.count_nonzero((present < self.range[0]) | (present > self.range[1])))

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def compare(self) -> dict[str, Any]:
        actual = self.counts.astype(np.float64)
        statistic, p_value = ks_test(self.expected, actual)
        grouped_expected = np.bincount(self.groups, weights=self.expected, minlength=PSI_BINS)
        grouped_actual = np.bincount(self.groups, weights=actual, minlength=PSI_BINS)
        used = np.flatnonzero(np.bincount(self.groups, minlength=PSI_BINS))
        edges = [float(self.edges[i - 1]) for i in range(1, len(self.groups)) if self.groups[i] != self.groups[i - 1]]
        return {
            "type": "numeric",
            "n": self.n,
            "nulls": self.nulls,
            "test": "ks",
            "statistic": statistic,
            "p_value": p_value,
            "effect": "psi",
            "effect_size": psi(grouped_expected[used], grouped_actual[used]),
            "histogram": {"edges": edges, "baseline": _shares(grouped_expected[used]), "current": _shares(grouped_actual[used])},
        }


class CategoricalColumn:
    def __init__(self, profile: dict[str, Any]) -> None:
        # Baselines before missing values were kept apart counted them as a category "": they are nulls.
        self.baseline = {str(k): int(v) for k, v in profile["frequencies"].items() if k != ""}
        self.counts: Counter = Counter()
        self.nulls = 0

    def add_array(self, values: Iterable[Any]) -> None:
        """Counts a batch at C speed; empty values are nulls; beyond MAX_CATEGORIES new values fold into OTHER."""
        batch = Counter(values)
        self.nulls += batch.pop(None, 0) + batch.pop("", 0)
        self.counts.update({str(k): v for k, v in batch.items()})
        if len(self.counts) > MAX_CATEGORIES:
            keep = set(self.baseline) | {k for k, _ in self.counts.most_common(MAX_CATEGORIES)}
            for key in [k for k in self.counts if k not in keep]:
                self.counts[OTHER] += self.counts.pop(key)

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def unseen(self) -> int:
        """Values the training split never had (OTHER folds only such values: baseline keys are kept)."""
        return sum(count for value, count in self.counts.items() if value not in self.baseline)

    def compare(self) -> dict[str, Any]:
        categories = sorted(set(self.baseline) | set(self.counts))
        expected = np.asarray([self.baseline.get(c, 0) for c in categories], dtype=np.float64)
        actual = np.asarray([self.counts.get(c, 0) for c in categories], dtype=np.float64)
        statistic, p_value = chi_square_test(expected, actual)
        return {
            "type": "categorical",
            "n": self.n,
            "nulls": self.nulls,
            "test": "chi_square",
            "statistic": statistic,
            "p_value": p_value,
            "effect": "jensen_shannon",
            "effect_size": jensen_shannon(expected, actual),
            "histogram": {"categories": categories, "baseline": _shares(expected), "current": _shares(actual)},
        }


def column_for(profile: dict[str, Any]) -> NumericColumn | CategoricalColumn:
    return NumericColumn(profile) if profile.get("type") == "numeric" else CategoricalColumn(profile)


class DriftCheck:
    """Feed it captured (inputs, outputs) records; report() compares with the baseline."""

    def __init__(
        self,
        spec: ModelSpec,
        baseline: dict[str, Any],
        prediction_baseline: dict[str, Any] | None,
        multivariate_reference: dict[str, Any] | None = None,
        estimate: Any = None,
    ) -> None:
        """`estimate`, when given, also receives each batch (columns, the champion's answers): the
        label-free performance estimate of mlops.monitoring.estimation reads the same pass."""
        self.spec = spec
        profiles = baseline.get("features", {})
        # Features marked pii are captured dropped or pseudonymized: there is nothing to compare.
        self.columns = {f.name: column_for(profiles[f.name]) for f in spec.features if f.name in profiles and not f.pii}
        self.prediction = column_for(prediction_baseline) if prediction_baseline else None
        self.multivariate = multivariate.ReconstructionCheck(multivariate_reference) if multivariate_reference else None
        self.estimate = estimate
        self.rows = 0
        self.markers = missing.markers(spec.data.missing_values)

    def add_records(self, records: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> None:
        """A batch of captured records (and the champion's answers, {} where another version
        answered), turned into columns first: far cheaper than feeding them value by value."""
        columns = {name: _column_values([r.get(name) for r in records], column, self.markers) for name, column in self.columns.items()}
        answers = [o.get("label", o.get("value")) for o in outputs]
        predictions = _column_values(answers, self.prediction, self.markers) if self.prediction is not None else None
        self.add_columns(columns, predictions)
        if self.estimate is not None:
            self.estimate.add(columns, outputs)
        if not columns:
            self.rows += len(records)

    def add_columns(self, columns: dict[str, Any], predictions: Any = None) -> None:
        """A batch by column (numeric: float arrays, NaN for missing; categorical: sequences)."""
        lengths = {len(values) for values in columns.values()}
        rows = lengths.pop() if lengths else 0
        self.rows += rows
        if self.multivariate is not None:
            self.multivariate.add_columns(columns, rows)
        for name, column in self.columns.items():
            if name in columns:
                column.add_array(columns[name])
        if self.prediction is not None and predictions is not None:
            self.prediction.add_array(predictions)

    def add_all(self, pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> DriftCheck:
        """(inputs, output) pairs as they are read, added BATCH_ROWS at a time: memory stays bounded."""
        inputs: list[dict[str, Any]] = []
        outputs: list[dict[str, Any]] = []
        for record, output in pairs:
            inputs.append(record)
            outputs.append(output)
            if len(inputs) >= BATCH_ROWS:
                self.add_records(inputs, outputs)
                inputs, outputs = [], []
        self.add_records(inputs, outputs)
        return self

    def report(self, rules: DriftRules, alpha: float) -> dict[str, Any]:
        """Verdicts at this family-wise alpha per check (ModelSpec.monitoring.alpha_per_check)."""
        columns: dict[str, Any] = dict(self.columns)
        if self.prediction is not None:
            columns[PREDICTION] = self.prediction
        if self.multivariate is not None:
            columns[multivariate.NAME] = self.multivariate
        results = {name: column.compare() for name, column in columns.items()}
        tested = [name for name, result in results.items() if result["n"] >= rules.min_samples]
        adjusted = correct([results[name]["p_value"] for name in tested], rules.correction)
        for name, result in results.items():
            result["p_value_adjusted"] = adjusted[tested.index(name)] if name in tested else None
            thresholds = {"numeric": rules.psi_threshold, "multivariate": rules.multivariate_threshold}
            result["threshold"] = threshold = thresholds.get(result["type"], rules.js_threshold)
            if name not in tested:
                result["verdict"] = NOT_ENOUGH_DATA
            else:
                significant = result["p_value_adjusted"] < alpha
                result["verdict"] = DRIFT if significant and result["effect_size"] >= threshold else NO_DRIFT
        prediction, together = results.pop(PREDICTION, None), results.pop(multivariate.NAME, None)
        features = results
        drifted = sorted(name for name, r in features.items() if r["verdict"] == DRIFT)
        if not self.columns and self.prediction is None:
            verdict = NO_BASELINE
        elif self.rows < rules.min_samples:
            verdict = NOT_ENOUGH_DATA
        elif len(drifted) >= rules.min_drifted_features or _drifts(prediction, together):
            verdict = DRIFT
        else:
            verdict = NO_DRIFT
        return {
            "rows": self.rows,
            "verdict": verdict,
            "drifted_features": drifted,
            "prediction_drift": prediction["verdict"] if prediction else None,
            "multivariate_drift": together["verdict"] if together else None,
            "rules": rules.model_dump(),
            "alpha": alpha,
            "features": features,
            "prediction": prediction,
            "multivariate": together,
        }


def _drifts(*results: dict[str, Any] | None) -> bool:
    return any(result is not None and result["verdict"] == DRIFT for result in results)


def _column_values(values: list[Any], column: NumericColumn | CategoricalColumn, markers: frozenset[str] = missing.DEFAULT) -> Any:
    """One feature's captured values as the column counts them: a missing value (mlops.data.missing)
    is None for a categorical feature and NaN for a numeric one, as the baseline counted it."""
    if isinstance(column, CategoricalColumn):
        return [None if v.__class__ is str and v.strip().casefold() in markers else v for v in values]
    try:  # numbers and None (NaN) convert in C; a marker such as "NA" or a stray word does not
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([np.nan if missing.is_missing(v, markers) else _number(v) for v in values], dtype=np.float64)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan  # the data plane refused such a record; a capture of it has no number to count


# --- statistics -----------------------------------------------------------------------------


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * len(counts)


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = 1e-4) -> float:
    """Population stability index; empty bins are floored so one empty bin does not make it infinite."""
    if not expected.sum() or not actual.sum():
        return 0.0
    e = np.clip(expected / expected.sum(), floor, None)
    a = np.clip(actual / actual.sum(), floor, None)
    return float(np.sum((a - e) * np.log(a / e)))


def jensen_shannon(expected: np.ndarray, actual: np.ndarray) -> float:
    if not expected.sum() or not actual.sum():
        return 0.0
    p, q = expected / expected.sum(), actual / actual.sum()
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log(x[mask] / m[mask])))

    return math.sqrt(max((kl(p) + kl(q)) / 2, 0.0))


def ks_test(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Two-sample KS from counts over the same bins: D at the bin edges, p from the Kolmogorov
    distribution with Stephens' small-sample correction."""
    n, m = actual.sum(), expected.sum()
    if not n or not m:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(actual) / n - np.cumsum(expected) / m)))
    effective = n * m / (n + m)
    root = math.sqrt(effective)
    return d, kolmogorov_survival((root + 0.12 + 0.11 / root) * d)


def kolmogorov_survival(x: float) -> float:
    if x <= 0:
        return 1.0
    if x < 0.3:  # the alternating series converges slowly here; the probability is 1 to 1e-12
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 101))
    return min(max(2 * total, 0.0), 1.0)


def chi_square_test(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity of two samples' category counts (a 2 x k table)."""
    table = np.vstack([expected, actual])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or not table[0].sum() or not table[1].sum():
        return 0.0, 1.0
    totals = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - totals) ** 2 / totals))
    return statistic, chi_square_survival(statistic, table.shape[1] - 1)


def chi_square_survival(x: float, df: int) -> float:
    return regularized_gamma_upper(df / 2, x / 2)


def regularized_gamma_upper(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): a series below a + 1, a continued fraction above."""
    if x <= 0:
        return 1.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(1000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b, c, d = x + 1 - a, 1 / tiny, 1 / (x + 1 - a)
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_prefix) * h)
