"""Multivariate drift: how well the training data's principal components still rebuild served rows.

A change in how features move together (a correlation that flips, a mix of segments that shifts)
can leave every feature's own distribution unchanged, so per-feature tests cannot see it. At
training, features are standardized (numbers imputed with their mean, categories one-hot) and a
PCA keeping EXPLAINED_VARIANCE of the variance is fitted on the validation split; each test row's
reconstruction error (the distance between the row and its projection back from the components)
gives the reference distribution. A check streams served rows through the same transform and
compares their mean error with the reference: a one-sided Welch z-test (its p-value joins the
check's family of tests), and the relative rise of the mean as the effect size. numpy only: the
checking function has no scikit-learn.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from mlops.data.spec import ModelSpec

EXPLAINED_VARIANCE = 0.65  # NannyML's default: the components keep the structure, not the noise
MAX_CATEGORIES = 20  # one-hot columns per categorical feature (the most frequent; others are all-zero)
NAME = "__multivariate__"


class Featurizer:
    """Columns (numeric arrays with NaN, categorical sequences) -> standardized float matrix."""

    def __init__(self, numeric: list[str], categories: dict[str, list[str]], center: list[float], scale: list[float]) -> None:
        self.numeric, self.categories = numeric, categories
        self.center, self.scale = np.asarray(center), np.asarray(scale)

    def raw(self, columns: dict[str, Any], rows: int) -> np.ndarray:
        parts = [np.asarray(columns.get(name, np.full(rows, np.nan)), dtype=np.float64).reshape(rows, 1) for name in self.numeric]
        for name, values in self.categories.items():
            # A missing category is "" in the splits and None in served columns (mlops.data.missing): the same here.
            column = np.asarray(["" if v is None else str(v) for v in columns.get(name, [""] * rows)], dtype=object)
            parts.append(np.stack([column == value for value in values], axis=1).astype(np.float64) if values else np.zeros((rows, 0)))
        matrix = np.hstack(parts) if parts else np.zeros((rows, 0))
        return matrix

    def standardized(self, columns: dict[str, Any], rows: int) -> np.ndarray:
        matrix = self.raw(columns, rows)
        matrix = np.where(np.isnan(matrix), self.center, matrix)  # a missing number sits at the mean: no error of its own
        return (matrix - self.center) / self.scale


def fit(spec: ModelSpec, validation: dict[str, Any], validation_rows: int, test: dict[str, Any], test_rows: int) -> dict[str, Any] | None:
    """The reference from two splits given as columns; None when there is nothing to compare (under two features)."""
    features = [f for f in spec.features if not f.pii]  # pii is dropped or hashed in the capture
    numeric = [f.name for f in features if f.type == "numeric"]
    categories = {}
    for feature in (f for f in features if f.type == "categorical"):
        values, counts = np.unique(np.asarray([str(v) for v in validation[feature.name]], dtype=object), return_counts=True)
        categories[feature.name] = [str(v) for v in values[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]]
    probe = Featurizer(numeric, categories, [], [])
    matrix = probe.raw(validation, validation_rows)
    if matrix.shape[1] < 2 or validation_rows < 3:
        return None
    center = np.nanmean(matrix, axis=0)
    center = np.where(np.isnan(center), 0.0, center)
    scale = np.nanstd(np.where(np.isnan(matrix), center, matrix), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    featurizer = Featurizer(numeric, categories, center.tolist(), scale.tolist())
    standardized = featurizer.standardized(validation, validation_rows)
    _, singular, vt = np.linalg.svd(standardized - standardized.mean(axis=0), full_matrices=False)
    explained = np.cumsum(singular**2) / max(float(np.sum(singular**2)), 1e-300)
    keep = min(int(np.searchsorted(explained, EXPLAINED_VARIANCE)) + 1, len(singular))
    components = vt[:keep]
    errors = _errors(featurizer.standardized(test, test_rows), components)
    return {
        "numeric": numeric,
        "categories": categories,
        "center": center.tolist(),
        "scale": scale.tolist(),
        "components": components.tolist(),
        "explained_variance": float(explained[keep - 1]),
        "errors": {"n": int(len(errors)), "mean": float(errors.mean()), "sd": float(errors.std(ddof=1)) if len(errors) > 1 else 0.0},
    }


def _errors(standardized: np.ndarray, components: np.ndarray) -> np.ndarray:
    rebuilt = standardized @ components.T @ components
    return np.sqrt(np.sum((standardized - rebuilt) ** 2, axis=1))


class ReconstructionCheck:
    """Streams served rows; compare() tests their mean reconstruction error against the reference."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.reference = reference
        self.featurizer = Featurizer(reference["numeric"], reference["categories"], reference["center"], reference["scale"])
        self.components = np.asarray(reference["components"])
        self.n, self.total, self.squares = 0, 0.0, 0.0

    def add_columns(self, columns: dict[str, Any], rows: int) -> None:
        if rows:
            errors = _errors(self.featurizer.standardized(columns, rows), self.components)
            self.n += rows
            self.total += float(errors.sum())
            self.squares += float(np.sum(errors**2))

    def compare(self) -> dict[str, Any]:
        base = self.reference["errors"]
        mean = self.total / self.n if self.n else math.nan
        variance = max(self.squares - self.n * mean * mean, 0.0) / (self.n - 1) if self.n > 1 else math.nan
        result: dict[str, Any] = {
            "type": "multivariate",
            "n": self.n,
            "test": "pca_reconstruction",
            "components": len(self.components),
            "explained_variance": self.reference["explained_variance"],
            "reference_error": base["mean"],
            "current_error": mean if self.n else None,
            "effect": "relative_error_rise",
            "effect_size": (mean / base["mean"] - 1) if self.n and base["mean"] > 0 else 0.0,
            "statistic": 0.0,
            "p_value": 1.0,
        }
        spread = math.sqrt(variance / self.n + base["sd"] ** 2 / max(base["n"], 1)) if self.n > 1 else 0.0
        if spread > 0:
            result["statistic"] = (mean - base["mean"]) / spread
            result["p_value"] = 1 - NormalDist().cdf(result["statistic"])
        return result
