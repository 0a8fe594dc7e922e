"""The document a training pipeline run passes from step to step, as a typed model.

Step Functions hands each step the state the last one returned (infra/statemachines/
training_pipeline.asl.json); each step adds its section. `run_step` checks the state a step
receives and the one it returns against this model, so a step that drops or misshapes a section
fails at once, naming the field, instead of a later step failing on a missing key. Sections a
step does not know pass through unchanged (Step Functions adds some: the Map's trials, the
approval's answer, a Catch's failure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow")


class Request(_Section):
    """What started the run: an upload, the API, or a model check's finding."""

    model: str
    trigger: Literal["upload", "api", "drift", "performance", "import"]
    source: Source | None = None
    requested_by: str | None = None


class ValidationPath(_Section):
    """How Ingest chose to validate an upload (mlops.data.chunks.choose_path)."""

    path: Literal["single", "distributed"]
    chunk_bytes: int = Field(gt=0)
    reason: str


class Location(_Section):
    bucket: str
    key: str


class Source(_Section):
    bucket: str
    key: str
    version_id: str | None = None
    size: int | None = Field(default=None, ge=0)
    etag: str | None = None
    validation: ValidationPath | None = None
    read: Location | None = Field(default=None, description="where validation reads the plain form of a compressed or Parquet upload")


class Validation(_Section):
    """PlanValidation, for the Distributed Map and the merge: the checked header, where the chunks are listed."""

    header: list[str]
    bucket: str
    chunks_key: str
    chunks: int = Field(ge=1)


class Dataset(_Section):
    version: str = Field(description="SHA-256 of the normalized content")
    bucket: str
    key: str
    report: dict[str, Any]
    new: bool | None = None


class Split(_Section):
    key: str
    rows: int = Field(ge=0)


class Artifact(_Section):
    bucket: str
    key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Gate(_Section):
    passed: bool
    metric: str


class RunState(_Section):
    """Every section a step may find; each is present from the step that adds it on."""

    run_id: str = Field(min_length=1, max_length=80)
    request: Request | None = None  # until Ingest, the state is only this and the run id
    model: str | None = None
    trigger: str | None = None
    spec_version: int | None = Field(default=None, ge=1)
    spec: dict[str, Any] | None = None
    import_: dict[str, Any] | None = Field(default=None, alias="import")  # POST /models/{model}/versions: the file to register
    source: Source | None = None  # Ingest, for an upload
    validation: Validation | None = None  # PlanValidation, on the distributed path until MergeValidation
    dataset: Dataset | None = None  # Validate (or Ingest, retraining the latest version)
    proceed: bool | None = None  # Version: false when the content was already trained
    skip_reason: str | None = None  # Ingest: why an automatic run does not train (the champion's own data and spec)
    splits: dict[Literal["train", "validation", "test"], Split] | None = None  # Prepare
    baseline_key: str | None = None
    compute: dict[str, Any] | None = None  # Prepare: where the fits run and why (mlops.training.compute)
    training: dict[str, Any] | None = None  # Train
    artifact: Artifact | None = None  # ExportOnnx
    metrics: dict[str, float] | None = None  # Evaluate
    gate: Gate | None = None
    monitoring_reference_key: str | None = None  # Evaluate: calibration, loss models, PCA (mlops.training.reference)


Step = Callable[[Any, Any], Any]


def run_step(step: Step) -> Step:
    """A pipeline step's handler, its state checked coming in and going out."""

    def checked(event: Any, context: Any) -> Any:
        RunState.model_validate(event)
        result = step(event, context)
        RunState.model_validate(result)
        return result

    checked.__name__, checked.__doc__ = step.__name__, step.__doc__
    return checked


Request.model_rebuild()
