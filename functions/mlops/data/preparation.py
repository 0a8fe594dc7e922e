"""Deterministic, stratified train/validation/test splits and the baseline that drift checks use.

One streaming pass over a normalized dataset version. Each stratum (a class, or the whole table for
regression) is assigned by a seeded permutation of its row positions, so the same version and seed
always give the same split and every class keeps its share. The baseline describes the training
split: per numeric feature, decile and percentile bin edges and the counts in each bin (from a
seeded reservoir of at most RESERVOIR_SIZE values, exact below that); per categorical feature and
the target, frequencies. Missing values are counted as nulls on every feature, never as a category,
as the live histograms count them. The drift check compares captured traffic with it (mlops.monitoring.drift).
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
from collections import Counter
from typing import IO, Any

import numpy as np

from mlops.data.spec import ModelSpec

SPLITS = ("train", "validation", "test")
FRACTIONS = (0.7, 0.15, 0.15)
RESERVOIR_SIZE = 100_000
BIN_QUANTILES = np.linspace(0.1, 0.9, 9)
FINE_QUANTILES = np.linspace(0.01, 0.99, 99)
MAX_TRACKED_CATEGORIES = 1000


def stratum_sizes(spec: ModelSpec, report: dict[str, Any]) -> dict[str, int]:
    return dict(report["labels"]) if spec.is_classification else {"": report["rows"]["valid"]}


def assignments(sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """stratum -> split index (0, 1, 2) of each of its rows, in the order the rows come."""
    plan = {}
    for stratum, size in sizes.items():
        stratum_seed = int.from_bytes(hashlib.sha256(f"{seed}:{stratum}".encode()).digest()[:8], "little")
        order = np.random.default_rng(stratum_seed).permutation(size)
        n_train, n_validation = int(size * FRACTIONS[0]), int(size * FRACTIONS[1])
        split = np.full(size, 2, dtype=np.uint8)
        split[order[:n_train]] = 0
        split[order[n_train : n_train + n_validation]] = 1
        plan[stratum] = split
    return plan


class BaselineBuilder:
    def __init__(self, spec: ModelSpec, seed: int) -> None:
        self._spec = spec
        self._rng = random.Random(seed)
        self._numeric = [i for i, f in enumerate(spec.features) if f.type == "numeric"]
        self._categorical = [i for i, f in enumerate(spec.features) if f.type == "categorical"]
        self._reservoirs: dict[int, list[float]] = {i: [] for i in self._numeric}
        self._seen = {i: 0 for i in self._numeric}
        self._ranges: dict[int, list[float]] = {i: [math.inf, -math.inf] for i in self._numeric}  # exact, for data quality
        self._nulls: Counter = Counter()
        self._frequencies: dict[int, Counter] = {i: Counter() for i in self._categorical}
        self._target: Counter = Counter()
        self.rows = 0

    def add(self, row: list[str]) -> None:
        self.rows += 1
        for i in self._numeric:
            if row[i] == "":
                self._nulls[i] += 1
                continue
            self._seen[i] += 1
            value, reservoir, bounds = float(row[i]), self._reservoirs[i], self._ranges[i]
            bounds[0], bounds[1] = min(bounds[0], value), max(bounds[1], value)
            if len(reservoir) < RESERVOIR_SIZE:
                reservoir.append(value)
            else:  # Algorithm R: every value has the same chance to be in the sample
                slot = self._rng.randrange(self._seen[i])
                if slot < RESERVOIR_SIZE:
                    reservoir[slot] = value
        for i in self._categorical:
            if row[i] == "":  # missing (normalized by validation): a null, never a category
                self._nulls[i] += 1
                continue
            counter = self._frequencies[i]
            if row[i] in counter or len(counter) < MAX_TRACKED_CATEGORIES:
                counter[row[i]] += 1
        if self._spec.is_classification:
            self._target[row[-1]] += 1

    def build(self) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for i in self._numeric:
            profile = numeric_profile(np.asarray(self._reservoirs[i], dtype=np.float64))
            features[self._spec.features[i].name] = {**profile, "count": self._seen[i], "nulls": self._nulls[i]}
            if self._seen[i]:
                features[self._spec.features[i].name].update(minimum=self._ranges[i][0], maximum=self._ranges[i][1])
        for i in self._categorical:
            frequencies = self._frequencies[i]
            features[self._spec.features[i].name] = {"type": "categorical", "frequencies": dict(frequencies), "nulls": self._nulls[i]}
        target = {"frequencies": dict(self._target)} if self._spec.is_classification else {}
        return {"rows": self.rows, "features": features, "target": target}


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    """Decile bins (for PSI) and percentile bins (for the KS test) of a sample, with their counts."""

    def binned(quantiles: np.ndarray) -> tuple[list[float], list[int]]:
        edges = np.unique(np.quantile(values, quantiles)) if len(values) else np.array([])
        return edges.tolist(), np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1).tolist()

    bin_edges, bin_counts = binned(BIN_QUANTILES)
    fine_edges, fine_counts = binned(FINE_QUANTILES)
    return {
        "type": "numeric",
        "bin_edges": bin_edges,
        "bin_counts": bin_counts,
        "fine_edges": fine_edges,
        "fine_counts": fine_counts,
        "sample_size": int(len(values)),
    }


def split_rows(spec: ModelSpec, report: dict[str, Any], rows: Any, outputs: dict[str, IO[str]]) -> tuple[dict[str, int], dict[str, Any]]:
    """Writes each row to its split's file; returns the row count per split and the baseline."""
    plan = assignments(stratum_sizes(spec, report), spec.training.seed)
    positions: Counter = Counter()
    writers = {name: csv.writer(outputs[name], lineterminator="\n") for name in SPLITS}
    for writer in writers.values():
        writer.writerow(spec.columns)
    counts: Counter = Counter()
    baseline = BaselineBuilder(spec, spec.training.seed)
    for row in rows:
        stratum = row[-1] if spec.is_classification else ""
        split = SPLITS[plan[stratum][positions[stratum]]]
        positions[stratum] += 1
        writers[split].writerow(row)
        counts[split] += 1
        if split == "train":
            baseline.add(row)
    return {name: counts[name] for name in SPLITS}, baseline.build()
