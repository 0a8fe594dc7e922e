"""Online predictions: route to a variant, check records against the version's own schema, answer
from ONNX.

Imports onnxruntime and numpy only (never scikit-learn, SciPy, pandas, pydantic or Powertools):
the data-plane function is this module, mlops.serving.records and mlops.serving.state. Sessions
are cached per model version after the artifact's SHA-256 is checked against the registry; the
traffic policy is read with a short cache. A challenger that cannot be loaded falls back to the
champion.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.serving.bounded import BoundedCache
from mlops.serving.records import InvalidRecords, RecordSchema  # noqa: F401 - InvalidRecords: raised by predict
from mlops.serving.state import POLICY_TTL_S, ServingState  # noqa: F401 - POLICY_TTL_S is read by bench/
from mlops.shared.errors import PlatformError
from mlops.shared.variables import ENV_MODELS_TABLE

if TYPE_CHECKING:
    from mlops.data.spec import ModelSpec

MAX_RECORDS = 1000
WARM_LIMIT = 20  # champions loaded at init; more models load on their first request
CHAMPION, CHALLENGER, SHADOW = "champion", "challenger", "shadow"


class NoModel(PlatformError):
    """The model has no deployed version to answer with (503)."""


class ArtifactTampered(PlatformError):
    """The bytes in S3 do not hash to the SHA-256 the registry recorded."""


def validate_records(spec: ModelSpec, records: list[dict[str, Any]]) -> list[list[str]]:
    """Records -> rows of strings in spec feature order; every bad field is reported, not just the first."""
    return RecordSchema(spec.model_dump(mode="json")).rows(records)


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


# A session holds about its artifact's size in memory, and more: the data plane has 1024 MB in all.
MAX_SESSIONS = 32
MAX_SCHEMAS = 256
MAX_SESSION_BYTES = 320 * 1024 * 1024


class SessionCache:
    """onnxruntime sessions per (model, version), loaded after an integrity check and kept while
    recently used: at most MAX_SESSIONS, of at most MAX_SESSION_BYTES of artifacts in all."""

    def __init__(self, s3: Any, max_sessions: int = MAX_SESSIONS, max_bytes: int = MAX_SESSION_BYTES) -> None:
        self.s3 = s3
        self._sessions: BoundedCache[tuple[str, int], Any] = BoundedCache(max_sessions, max_bytes)
        self._lock = threading.Lock()

    def get(self, model: str, number: int, lookup: Any) -> Any:
        """The session for a version; `lookup(model, number)` reads its registry record only on a miss."""
        key = (model, number)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session, size = self._load(lookup(model, number))
                self._sessions.put(key, session, weight=size)
            return session

    def __len__(self) -> int:
        return len(self._sessions)

    def _load(self, version: dict[str, Any]) -> tuple[Any, int]:
        import onnxruntime

        artifact = version["artifact"]
        data = self.s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])["Body"].read()
        if hashlib.sha256(data).hexdigest() != artifact["sha256"]:
            raise ArtifactTampered(f"version {version['version']}: the artifact does not match its recorded SHA-256")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one request at a time per Lambda environment
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"]), len(data)


def run_session(session: Any, spec: ModelSpec, rows: list[list[str]]) -> list[dict[str, Any]]:
    """Rows of strings (a CSV's, batch scoring) through the session."""
    from mlops.serving.model_inputs import to_inputs

    return answers(session, to_inputs(spec, rows), spec.is_classification)


def answers(session: Any, inputs: dict[str, np.ndarray], classification: bool) -> list[dict[str, Any]]:
    """The session's answer per record: a label and its probabilities, or a value."""
    names, classes = _signature(session)
    outputs = session.run(None, {name: inputs[name] for name in names})
    labels = outputs[0].ravel().tolist()
    if not classification:
        return [{"value": float(v)} for v in labels]
    classes = classes or [str(i) for i in range(outputs[1].shape[1])]
    return [
        {"label": str(label), "probabilities": dict(zip(classes, p, strict=True))}
        for label, p in zip(labels, outputs[1].tolist(), strict=True)
    ]


@lru_cache(maxsize=256)
def _signature(session: Any) -> tuple[list[str], list[str] | None]:
    """A session's input names and class names, read once (each read builds new Python objects)."""
    return [i.name for i in session.get_inputs()], model_classes(session)


def model_classes(session: Any) -> list[str] | None:
    """Class names in the order of the probability columns, as export wrote them into the model."""
    metadata = session.get_modelmeta().custom_metadata_map
    return metadata["classes"].split("\x1f") if "classes" in metadata else None


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
    warnings: list[dict[str, Any]] = field(default_factory=list)  # values beyond what the data showed


class Predictor:
    """One per warm Lambda: reads policy and versions, keeps sessions and compiled schemas, predicts."""

    def __init__(self, state: Any, sessions: SessionCache) -> None:
        self.state, self._sessions = state, sessions
        self._schemas: BoundedCache[tuple[str, int], RecordSchema] = BoundedCache(MAX_SCHEMAS)

    def use_clients(self, dynamodb: Any, s3: Any) -> None:
        """New AWS clients, routing read afresh; sessions and schemas stay (after a SnapStart restore)."""
        self.state.reset(dynamodb)
        self._sessions.s3 = s3

    def schema_of(self, model: str, number: int) -> RecordSchema:
        """The schema of the spec a version was trained on (its pinned spec version): its features,
        classes and PII rules. Versions are immutable, so it is compiled once per warm Lambda; a
        newer spec changes nothing for a version already serving."""
        key = (model, number)
        schema = self._schemas.get(key)
        if schema is None:
            pinned = int(self.state.version(model, number)["spec_version"])
            schema = RecordSchema(self.state.spec_document(model, pinned))
            self._schemas.put(key, schema)
        return schema

    def warm_champions(self) -> list[str]:
        """Loads the champions' sessions and schemas now (at init, so a snapshot or a cold start
        holds them); a champion that cannot be loaded is left to its first request."""
        warmed: list[str] = []
        try:
            champions = self.state.champions(WARM_LIMIT)
        except Exception as error:  # noqa: BLE001 - serving must start; each model then loads on its first request
            print(f'{{"level":"WARNING","message":"champions not listed at init: {error!r}"}}', flush=True)
            return warmed
        for model, number in champions:
            try:
                self.schema_of(model, number)
                self._sessions.get(model, number, self.state.version)
                warmed.append(model)
            except Exception as error:  # noqa: BLE001 - serving must start; the request will say what is wrong
                print(f'{{"level":"WARNING","message":"champion of {model} not warmed: {error!r}"}}', flush=True)
        return warmed

    def predict(self, model: str, records: list[dict[str, Any]], routing_key: str | None) -> Prediction:
        started = time.perf_counter()
        aliases, policy = self.state.routing(model)
        route = choose_variant(policy, aliases, routing_key, model)
        variant, number, fell_back = route.variant, route.version, False
        schema = self.schema_of(model, number)
        inputs = schema.inputs(records)
        try:
            results = answers(self._sessions.get(model, number, self.state.version), inputs, schema.classification)
        except Exception:
            if variant != CHALLENGER:
                raise
            # A challenger that fails must not fail the request: the champion answers, a metric says so.
            variant, number, fell_back = CHAMPION, aliases[CHAMPION], True
            schema = self.schema_of(model, number)
            inputs = schema.inputs(records)
            results = answers(self._sessions.get(model, number, self.state.version), inputs, schema.classification)
        shadow = self._shadow(model, records, route.shadow, number)
        elapsed = time.perf_counter() - started
        capture = (schema.capture_sample_rate, schema.pii, schema.pii_capture)
        return Prediction(str(uuid.uuid4()), variant, number, results, shadow, fell_back, elapsed, *capture, schema.warnings(records))

    def _shadow(self, model: str, records: list[dict[str, Any]], shadow: int | None, served: int) -> dict[str, Any] | None:
        """The shadow's answer (by its own schema) is captured, never returned; its failure never fails the request."""
        if shadow is None or shadow == served:
            return None
        try:
            schema = self.schema_of(model, shadow)
            session = self._sessions.get(model, shadow, self.state.version)
            return {"version": shadow, "results": answers(session, schema.inputs(records), schema.classification)}
        except Exception as error:  # noqa: BLE001 - a broken shadow is reported, not raised
            return {"version": shadow, "error": str(error)}


def aws_client(service: str) -> Any:
    """A botocore client: boto3 would add its resource layer and s3transfer, imports a cold start
    pays for and serving never uses (bench/cold_start.py). One session, so its loaded data is shared."""
    return _botocore_session().create_client(service)


@cache
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def session_cache() -> SessionCache:
    """One per warm Lambda: each model version is fetched, verified and loaded once."""
    return SessionCache(aws_client("s3"))


@cache
def predictor() -> Predictor:
    """One per warm Lambda, so its sessions, schemas and policy cache live across requests."""
    return Predictor(ServingState(aws_client("dynamodb"), os.environ[ENV_MODELS_TABLE]), session_cache())


def after_restore() -> None:
    """SnapStart: every environment restored from one snapshot gets its own clients, a routing
    cache read afresh and its own random generator (routing and capture sampling draw from it)."""
    random.seed()
    predictor().use_clients(aws_client("dynamodb"), aws_client("s3"))
