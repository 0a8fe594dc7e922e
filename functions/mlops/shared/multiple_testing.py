"""Adjusted p-values for a family of tests: drift's features, an A/B test's segments."""

from __future__ import annotations


def correct(p_values: list[float], method: str = "holm") -> list[float]:
    """Bonferroni, or Holm's step-down (uniformly more powerful, the same family-wise error rate)."""
    m = len(p_values)
    if method == "bonferroni":
        return [min(1.0, p * m) for p in p_values]
    adjusted, running = [0.0] * m, 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
