"""The stores a handler uses, bound to the tables the environment names."""

from mlops.audit import AuditLog
from mlops.aws import table
from mlops.dataset_versions import DatasetStore
from mlops.registry import Registry
from mlops.runs import RunStore
from mlops.settings import get_settings
from mlops.specs import SpecStore


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
