"""JSON at request rate and at capture volume: orjson, with Python's json for what orjson refuses.

orjson parses and writes several times faster than the standard library (bench/serving.py,
bench/drift.py). Two inputs it refuses are still valid for Python's json, and the API has always
taken them: the NaN and Infinity tokens when reading, integers past 64 bits when writing.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # NaN / Infinity tokens; a real syntax error raises here too (a ValueError)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer past 64 bits
        return json.dumps(value, separators=(",", ":"))
