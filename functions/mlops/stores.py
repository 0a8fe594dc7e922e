"""The stores a handler uses, bound to the tables the environment names."""

from mlops.aws import table
from mlops.registry import Registry
from mlops.runs import RunStore
from mlops.settings import get_settings


def run_store() -> RunStore:
    return RunStore(table(get_settings().runs_table))


def registry() -> Registry:
    settings = get_settings()
    return Registry(table(settings.models_table), table(settings.audit_table))
