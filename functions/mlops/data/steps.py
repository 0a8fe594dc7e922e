"""The data steps of the training pipeline: ingest and version (validate is mlops.data.validation_steps,
the split mlops.data.splitting).

Each step takes the run's state and returns it with its own section added, so the state machine
passes one document from step to step. Training, export and evaluation are in mlops.training.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlops.data import chunks
from mlops.data.spec import ModelSpec
from mlops.data.spec_store import SpecStore
from mlops.data.versions import DatasetStore
from mlops.shared.errors import DatasetRejected
from mlops.shared.items import now_iso
from mlops.shared.settings import Settings
from mlops.training.runs import RunStore

# Triggers of automatic retraining (mlops.monitoring.retraining): they never train a twin of the champion.
AUTOMATIC_TRIGGERS = ("drift", "performance", "estimated_performance")


def ingest(
    state: dict[str, Any],
    s3: Any,
    runs: RunStore,
    specs: SpecStore,
    data: DatasetStore,
    settings: Settings,
    champion_of: Callable[[str], dict[str, Any] | None] = lambda model: None,
) -> dict[str, Any]:
    """Records the run, pins the model's current spec, and checks the upload (or finds the dataset).
    An automatic retraining run whose data version and spec are the champion's would train the
    champion again (same data, spec and seed): it does not proceed, and says so."""
    request, run_id = state["request"], state["run_id"]
    model = request["model"]
    runs.start(run_id, model, trigger={k: v for k, v in request.items() if k != "model"})
    spec_version, spec = specs.current(model)
    base = {
        "run_id": run_id,
        "model": model,
        "trigger": request["trigger"],
        "spec_version": spec_version,
        "spec": spec.model_dump(mode="json"),
    }
    if "import" in request:  # POST /models/{model}/versions: the file to check and register
        base["import"] = request["import"]
    if request["trigger"] != "upload":
        latest = data.latest(model)
        dataset = {"version": latest["version"], "bucket": settings.data_bucket, "key": latest["key"], "report": latest["report"]}
        runs.record_step(run_id, "ingest", {"dataset_version": latest["version"], "spec_version": spec_version})
        twin = _twin_of_champion(champion_of(model), latest["version"], spec_version) if request["trigger"] in AUTOMATIC_TRIGGERS else ""
        return {**base, "dataset": dataset, "proceed": not twin, **({"skip_reason": twin} if twin else {})}
    source = request["source"]
    head = s3.head_object(Bucket=source["bucket"], Key=source["key"])
    size = head["ContentLength"]
    if size == 0:
        raise DatasetRejected(f"{source['key']} is a 0-byte file")
    if size > settings.max_dataset_bytes:
        raise DatasetRejected(f"{source['key']} is {size} bytes, over the {settings.max_dataset_bytes}-byte dataset ceiling")
    source = {**source, "size": size, "etag": head["ETag"].strip('"')}
    if head.get("Metadata"):  # e.g. a retraining upload says which check asked for it
        source["metadata"] = head["Metadata"]
    source["validation"] = chunks.choose_path(source["key"], size, head.get("Metadata", {}))
    runs.record_step(run_id, "ingest", {**source, "spec_version": spec_version})
    return {**base, "source": source}


def _twin_of_champion(champion: dict[str, Any] | None, dataset_version: str, spec_version: int) -> str:
    if champion is None or champion.get("dataset_version") != dataset_version or int(champion.get("spec_version", -1)) != spec_version:
        return ""
    return (
        f"version {champion['version']}, the champion, was trained on dataset {dataset_version[:12]} with spec v{spec_version}:"
        " a run on them would make the same model"
    )


def version(state: dict[str, Any], s3: Any, runs: RunStore, data: DatasetStore) -> dict[str, Any]:
    """Registers the content-addressed version with its manifest; identical content is not retrained."""
    dataset, spec = state["dataset"], ModelSpec.model_validate(state["spec"])
    report = json.loads(s3.get_object(Bucket=dataset["bucket"], Key=dataset["report"]["key"])["Body"].read())
    manifest = {
        "version": dataset["version"],
        "model": state["model"],
        "schema": {
            "columns": spec.columns,
            "features": [f.model_dump(mode="json") for f in spec.features],
            "target": spec.target.model_dump(mode="json"),
        },
        "rows": report["rows"]["valid"],
        "columns": report["columns"],
        "labels": report["labels"],
        "source": state["source"],
        "spec_version": state["spec_version"],
        "created_by_run": state["run_id"],
        "created_at": now_iso(),
    }
    manifest_key = dataset["key"].rsplit("/", 1)[0] + "/manifest.json"
    record = {
        "key": dataset["key"],
        "manifest_key": manifest_key,
        "rows": manifest["rows"],
        "source": state["source"],
        "report": dataset["report"],
    }
    created = data.register(state["model"], dataset["version"], record, state["run_id"])
    if created:
        s3.put_object(Bucket=dataset["bucket"], Key=manifest_key, Body=json.dumps(manifest, indent=1).encode())
    runs.record_step(state["run_id"], "version", {"version": dataset["version"], "new": created, "manifest_key": manifest_key})
    return {**state, "dataset": {**dataset, "new": created}, "proceed": created}
