"""Ranks for rank statistics (ROC AUC), numpy only: the training image imports it through the
label-free estimate, and has neither orjson nor the capture reader that live metrics need."""

from __future__ import annotations

import numpy as np


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of the scores, tied scores sharing their average rank."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, group = np.unique(scores, return_inverse=True)
    return (np.bincount(group, weights=ranks) / np.bincount(group))[group]
