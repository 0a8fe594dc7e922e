"""Drafting a spec from a file: the model's name from the file's, the sample the API drafts from, the
draft shown for review."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlops_cli.errors import UserError
from mlops_cli.render import cell

MAX_SAMPLE_BYTES = 1024 * 1024  # what POST /models/{model}/draft takes


def model_name_from(path: Path) -> str:
    stem = path.name.removesuffix(".spec.json").rsplit(".", 1)[0] if path.name.endswith(".spec.json") else path.stem
    name = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-")[:63]
    if not name:
        raise UserError(f"cannot name a model after {path.name}: pass --model")
    return name


def sample_of(data: Path) -> str:
    """Whole lines from the top of the file, at most what the draft endpoint takes."""
    with data.open("rb") as file:
        head = file.read(MAX_SAMPLE_BYTES)
    if len(head) == MAX_SAMPLE_BYTES:
        head = head[: head.rfind(b"\n") + 1]
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{data} is not UTF-8 text") from None


def feature_details(feature: dict[str, Any]) -> str:
    parts = []
    if feature.get("categories"):
        parts.append(f"{len(feature['categories'])} categories")
    if feature.get("minimum") is not None or feature.get("maximum") is not None:
        parts.append(f"range {cell(feature.get('minimum'))} to {cell(feature.get('maximum'))}")
    parts += [flag for flag in ("nullable", "pii") if feature.get(flag)]
    return ", ".join(parts) or "-"
