"""The stores a handler uses, bound to the tables the environment names."""

from functools import cache

from mlops.audit import AuditLog
from mlops.aws import client, table
from mlops.capture import Capture
from mlops.dataset_versions import DatasetStore
from mlops.model_checks import ModelChecker
from mlops.registry import Registry
from mlops.runs import RunStore
from mlops.serving import Predictor, SessionCache
from mlops.settings import get_settings
from mlops.specs import SpecStore
from mlops.traffic import TrafficStore


def run_store() -> RunStore:
    return RunStore(table(get_settings().runs_table))


def registry() -> Registry:
    settings = get_settings()
    return Registry(table(settings.models_table), table(settings.audit_table))


def spec_store() -> SpecStore:
    settings = get_settings()
    return SpecStore(table(settings.models_table), table(settings.audit_table))


def dataset_store() -> DatasetStore:
    return DatasetStore(table(get_settings().models_table))


def audit_log() -> AuditLog:
    return AuditLog(table(get_settings().audit_table))


def traffic_store() -> TrafficStore:
    settings = get_settings()
    return TrafficStore(table(settings.models_table), table(settings.audit_table))


@cache
def session_cache() -> SessionCache:
    """One per warm Lambda: each model version is fetched, verified and loaded once."""
    return SessionCache(client("s3"))


@cache
def predictor() -> Predictor:
    """One per warm Lambda, so its sessions and policy cache live across requests."""
    return Predictor(registry(), traffic_store(), spec_store(), session_cache())


def capture() -> Capture:
    return Capture()


def model_checker() -> ModelChecker:
    settings = get_settings()
    buckets = {"data": settings.data_bucket, "capture": settings.capture_bucket, "artifacts": settings.artifacts_bucket}
    return ModelChecker(client("s3"), registry(), table(settings.models_table), buckets)
