"""Online predictions: validate records against the spec, route to a variant, answer from ONNX.

Imports onnxruntime and numpy only (never scikit-learn, SciPy or pandas). Sessions are cached per
model version after the artifact's SHA-256 is checked against the registry; the traffic policy is
read with a short cache. A challenger that cannot be loaded falls back to the champion.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from mlops.data.spec import ModelSpec
from mlops.data.spec_store import spec_store
from mlops.registry.versions import registry
from mlops.serving.model_inputs import to_inputs
from mlops.serving.traffic import traffic_store
from mlops.shared.aws import client
from mlops.shared.errors import InvalidInput, PlatformError

MAX_RECORDS = 1000
POLICY_TTL_S = 5.0
CHAMPION, CHALLENGER, SHADOW = "champion", "challenger", "shadow"


class NoModel(PlatformError):
    """The model has no deployed version to answer with (503)."""


class InvalidRecords(InvalidInput):
    """Records that do not fit the spec; `errors` lists each field at fault (422)."""


class ArtifactTampered(PlatformError):
    """The bytes in S3 do not hash to the SHA-256 the registry recorded."""


def validate_records(spec: ModelSpec, records: list[dict[str, Any]]) -> list[list[str]]:
    """Records -> rows of strings in spec feature order; every bad field is reported, not just the first."""
    errors, rows = [], []
    for index, record in enumerate(records):
        row = []
        for feature in spec.features:
            value = record.get(feature.name)
            location = ["body", "records", index, feature.name]
            if value is None or value == "":
                if not feature.nullable:
                    errors.append({"loc": location, "msg": "required (not nullable)"})
                row.append("")
            elif feature.type == "numeric":
                if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                    errors.append({"loc": location, "msg": f"{value!r} is not a finite number"})
                elif feature.minimum is not None and value < feature.minimum:
                    errors.append({"loc": location, "msg": f"{value} is below the minimum {feature.minimum}"})
                elif feature.maximum is not None and value > feature.maximum:
                    errors.append({"loc": location, "msg": f"{value} is above the maximum {feature.maximum}"})
                row.append(repr(float(value)) if isinstance(value, int | float) else "")
            else:
                text = str(value)
                if not isinstance(value, str):
                    errors.append({"loc": location, "msg": f"{value!r} is not a string"})
                elif feature.categories is not None and text not in feature.categories:
                    errors.append({"loc": location, "msg": f"{text[:40]!r} is not one of {feature.categories[:10]}"})
                row.append(text)
        unknown = sorted(set(record) - {f.name for f in spec.features})
        if unknown:
            errors.append({"loc": ["body", "records", index], "msg": f"unknown fields {unknown[:10]}"})
        rows.append(row)
    if errors:
        raise InvalidRecords(errors)
    return rows


@dataclass(frozen=True)
class Route:
    variant: str
    version: int
    shadow: int | None


def choose_variant(policy: dict[str, Any], aliases: dict[str, int], routing_key: str | None, model: str) -> Route:
    """Champion unless the challenger's share says otherwise; a routing key makes the choice sticky."""
    if CHAMPION not in aliases:
        raise NoModel(f"model {model!r} has no champion yet: train one by uploading data under datasets/{model}/")
    percent = int(policy.get("challenger_percent", 0)) if CHALLENGER in aliases else 0
    if routing_key is not None:
        bucket = int.from_bytes(hashlib.sha256(f"{model}:{routing_key}".encode()).digest()[:4], "big") % 100
    else:
        bucket = random.randrange(100)
    shadow = policy.get("shadow")
    if bucket < percent:
        return Route(CHALLENGER, aliases[CHALLENGER], shadow)
    return Route(CHAMPION, aliases[CHAMPION], shadow)


class SessionCache:
    """onnxruntime sessions per (model, version), loaded once per warm Lambda after an integrity check."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self._sessions: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def get(self, model: str, number: int, lookup: Any) -> Any:
        """The session for a version; `lookup(model, number)` reads its registry record only on a miss."""
        key = (model, number)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = self._load(lookup(model, number))
            return self._sessions[key]

    def _load(self, version: dict[str, Any]) -> Any:
        import onnxruntime

        artifact = version["artifact"]
        data = self._s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])["Body"].read()
        if hashlib.sha256(data).hexdigest() != artifact["sha256"]:
            raise ArtifactTampered(f"version {version['version']}: the artifact does not match its recorded SHA-256")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request at a time per Lambda environment
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def run_session(session: Any, spec: ModelSpec, rows: list[list[str]]) -> list[dict[str, Any]]:
    inputs = to_inputs(spec, rows)
    outputs = session.run(None, {i.name: inputs[i.name] for i in session.get_inputs()})
    labels = outputs[0].ravel()
    if not spec.is_classification:
        return [{"value": float(v)} for v in labels]
    classes = _classes(session, spec, outputs)
    return [
        {"label": str(label), "probabilities": dict(zip(classes, map(float, p), strict=True))}
        for label, p in zip(labels, outputs[1], strict=True)
    ]


def model_classes(session: Any) -> list[str] | None:
    """Class names in the order of the probability columns, as export wrote them into the model."""
    metadata = session.get_modelmeta().custom_metadata_map
    return metadata["classes"].split("\x1f") if "classes" in metadata else None


def _classes(session: Any, spec: ModelSpec, outputs: list[np.ndarray]) -> list[str]:
    return model_classes(session) or [str(i) for i in range(outputs[1].shape[1])]


@dataclass
class Prediction:
    prediction_id: str
    variant: str
    version: int
    results: list[dict[str, Any]]
    shadow: dict[str, Any] | None
    fell_back: bool
    seconds: float
    capture_sample_rate: float = 1.0
    pii: tuple[str, ...] = ()  # features marked pii in the spec
    pii_capture: str = "drop"


class Predictor:
    """One per warm Lambda: reads policy and versions, keeps sessions, predicts."""

    def __init__(self, registry: Any, traffic: Any, specs: Any, sessions: SessionCache) -> None:
        self._registry, self._traffic, self._specs, self._sessions = registry, traffic, specs, sessions
        self._cache: dict[str, tuple[float, dict[str, Any], dict[str, int]]] = {}
        self._version_specs: dict[tuple[str, int], ModelSpec] = {}

    def _current(self, model: str) -> tuple[dict[str, Any], dict[str, int]]:
        """Policy and aliases, re-read at most every POLICY_TTL_S seconds per warm Lambda."""
        cached = self._cache.get(model)
        if cached is None or time.monotonic() - cached[0] > POLICY_TTL_S:
            aliases, policy, _ = self._traffic.routing(model)  # one read of the model's state item
            cached = (time.monotonic(), policy, aliases)
            self._cache[model] = cached
        return cached[1], cached[2]

    def spec_of(self, model: str, number: int) -> ModelSpec:
        """The spec a version was trained on (its pinned spec version): its features, classes and
        PII rules. Versions are immutable, so it is read once per warm Lambda; a newer spec changes
        nothing for a version already serving."""
        key = (model, number)
        if key not in self._version_specs:
            pinned = int(self._registry.version(model, number)["spec_version"])
            self._version_specs[key] = self._specs.get(model, pinned)[1]
        return self._version_specs[key]

    def predict(self, model: str, records: list[dict[str, Any]], routing_key: str | None) -> Prediction:
        started = time.perf_counter()
        policy, aliases = self._current(model)
        route = choose_variant(policy, aliases, routing_key, model)
        variant, number, fell_back = route.variant, route.version, False
        spec = self.spec_of(model, number)
        rows = validate_records(spec, records)
        try:
            results = run_session(self._sessions.get(model, number, self._registry.version), spec, rows)
        except Exception:
            if variant != CHALLENGER:
                raise
            # A challenger that fails must not fail the request: the champion answers, a metric says so.
            variant, number, fell_back = CHAMPION, aliases[CHAMPION], True
            spec = self.spec_of(model, number)
            rows = validate_records(spec, records)
            results = run_session(self._sessions.get(model, number, self._registry.version), spec, rows)
        shadow = self._shadow(model, records, route.shadow, number)
        elapsed = time.perf_counter() - started
        pii = tuple(f.name for f in spec.features if f.pii)
        capture = (spec.serving.capture_sample_rate, pii, spec.serving.pii_capture)
        return Prediction(str(uuid.uuid4()), variant, number, results, shadow, fell_back, elapsed, *capture)

    def _shadow(self, model: str, records: list[dict[str, Any]], shadow: int | None, served: int) -> dict[str, Any] | None:
        """The shadow's answer (by its own spec) is captured, never returned; its failure never fails the request."""
        if shadow is None or shadow == served:
            return None
        try:
            spec = self.spec_of(model, shadow)
            session = self._sessions.get(model, shadow, self._registry.version)
            return {"version": shadow, "results": run_session(session, spec, validate_records(spec, records))}
        except Exception as error:  # noqa: BLE001 - a broken shadow is reported, not raised
            return {"version": shadow, "error": str(error)}


@cache
def session_cache() -> SessionCache:
    """One per warm Lambda: each model version is fetched, verified and loaded once."""
    return SessionCache(client("s3"))


@cache
def predictor() -> Predictor:
    """One per warm Lambda, so its sessions and policy cache live across requests."""
    return Predictor(registry(), traffic_store(), spec_store(), session_cache())
