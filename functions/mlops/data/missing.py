"""One rule for missing values, used by every stage that reads a value: the draft, validation, the
CLI's CSV reading, batch scoring, serving, the baselines and the live histograms.

A value is missing when, stripped of surrounding spaces, it is one of the markers, compared without
regard to case: the empty value, `NA` (as R writes it), `N/A`, `null` and `NaN` (as pandas and
Spark write them), and those a spec lists in `data.missing_values`. Stdlib only: the data plane
imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DEFAULT_MARKERS = ("", "NA", "N/A", "null", "NaN")


def markers(extra: Iterable[str] = ()) -> frozenset[str]:
    """The markers to compare a stripped, case-folded value with: the defaults and a spec's own."""
    return frozenset(marker.strip().casefold() for marker in (*DEFAULT_MARKERS, *extra))


DEFAULT = markers()


def of_spec(document: dict[str, Any]) -> frozenset[str]:
    """The markers of a spec document (ModelSpec's JSON, as stored and as the data plane reads it)."""
    extra = document.get("data", {}).get("missing_values") or ()
    return markers(extra) if extra else DEFAULT


def is_missing(value: Any, known: frozenset[str] = DEFAULT) -> bool:
    """None, or a string that is a marker once stripped; numbers are never missing (NaN is refused
    as a number where numbers are checked, not read as a marker)."""
    if value is None:
        return True
    return isinstance(value, str) and value.strip().casefold() in known
