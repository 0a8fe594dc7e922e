"""The platform's REST API: one Powertools resolver, pydantic bodies, OpenAPI generated from code."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from mlops.data.spec import ModelSpec
from mlops.data.spec_store import spec_store
from mlops.data.versions import dataset_store
from mlops.monitoring.checks import model_checker
from mlops.registry.audit import audit_log
from mlops.registry.versions import registry
from mlops.serving import batch
from mlops.serving.capture import capture, feedback_record
from mlops.serving.predictor import MAX_RECORDS, InvalidRecords, NoModel, predictor
from mlops.serving.telemetry import record_prediction_metrics
from mlops.serving.traffic import TrafficPolicy, traffic_store
from mlops.shared.aws import client
from mlops.shared.errors import Conflict, NotFound
from mlops.shared.settings import get_settings
from mlops.training import pipeline_runs
from mlops.training.runs import run_store

API_TITLE = "Serverless MLOps platform"
API_VERSION = "0.1.0"
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"

app = APIGatewayRestResolver(enable_validation=True)


class Health(BaseModel):
    status: str = Field(description="'ok' when the API Lambda answers")
    version: str


class Run(BaseModel):
    run_id: str
    model: str
    status: str = Field(description="RUNNING, SUCCEEDED or FAILED")
    started_at: str
    updated_at: str
    ended_at: str | None = None
    trigger: dict[str, Any] = {}
    params: dict[str, Any] = Field(default={}, description="algorithm and hyper-parameters")
    metrics: dict[str, float] = Field(default={}, description="test-split metrics (validation for search trials)")
    timings: dict[str, float] = Field(default={}, description="seconds each step's Lambda took")
    steps: dict[str, Any] = Field(default={}, description="what each pipeline step recorded")
    failure: dict[str, Any] | None = Field(default=None, description="error, readable reason, what was quarantined or discarded")


class RunList(BaseModel):
    runs: list[Run]


class RunComparison(BaseModel):
    metrics: list[str] = Field(description="every metric any of the runs measured")
    runs: list[dict[str, Any]] = Field(description="per run: id, status, data version, params and metrics, side by side")


class ModelVersion(BaseModel):
    version: int
    status: str = Field(description="pending_approval, approved, rejected, champion, challenger or archived")
    run_id: str
    created_at: str
    artifact: dict[str, Any]
    metrics: dict[str, float]
    dataset_version: str
    spec_version: int
    decided_by: str | None = None
    decision_reason: str | None = None


class VersionList(BaseModel):
    aliases: dict[str, int]
    versions: list[ModelVersion]


class Decision(BaseModel):
    reason: str = Field(default="", max_length=1000)


class AuditRecord(BaseModel):
    model: str
    action: str
    at: str
    detail: dict[str, Any]


class AuditTrail(BaseModel):
    records: list[AuditRecord]


class ErrorBody(BaseModel):
    message: str


class ModelSummary(BaseModel):
    model: str
    spec_version: int
    champion: int | None = None


class ModelList(BaseModel):
    models: list[ModelSummary]


class RegisteredSpec(BaseModel):
    model: str
    spec_version: int
    created: bool = Field(description="false when the same spec was already current (PUT is idempotent)")
    spec: ModelSpec


class StartedRun(BaseModel):
    run_id: str
    execution_arn: str


class DatasetVersion(BaseModel):
    version: str = Field(description="SHA-256 of the normalized content")
    created_at: str
    rows: int
    key: str
    manifest_key: str
    source: dict[str, Any]
    report: dict[str, Any] = Field(description="quality report summary and its S3 key")
    runs: list[str] = Field(description="runs that used this version (lineage)")
    prepared: dict[str, Any] = Field(default={}, description="splits and baseline, once prepared")


class DatasetList(BaseModel):
    datasets: list[DatasetVersion]


ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="lower-case letters, digits and dashes")]


@app.get("/health", summary="Liveness of the API")
def health() -> Health:
    return Health(status="ok", version=API_VERSION)


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document():  # a raw Response: no schema of its own in the document
    body = app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/runs", summary="Pipeline runs of a model: newest first, or sorted by a metric")
def list_runs(
    model: Annotated[str, Query(pattern=MODEL_NAME_PATTERN)],
    status: Annotated[str | None, Query(pattern="^(RUNNING|SUCCEEDED|FAILED)$")] = None,
    sort: Annotated[str | None, Query(pattern="^-?[a-z0-9_]{1,40}$", description="a metric; '-' for descending")] = None,
) -> RunList:
    return RunList(runs=[Run.model_validate(item) for item in run_store().list_for_model(model, status=status, sort=sort)])


@app.get("/runs/compare", summary="Runs side by side: parameters, data version and metrics")
def compare_runs(ids: Annotated[str, Query(pattern=r"^[A-Za-z0-9_,-]{1,2000}$", description="comma-separated run ids")]) -> RunComparison:
    runs = [run_store().get(run_id) for run_id in dict.fromkeys(ids.split(",")) if run_id]
    metrics = sorted({name for run in runs for name in run.get("metrics", {})})
    rows = [
        {
            "run_id": r["run_id"],
            "status": r["status"],
            "dataset_version": r.get("steps", {}).get("version", {}).get("version"),
            "params": r.get("params", {}),
            "metrics": r.get("metrics", {}),
        }
        for r in runs
    ]
    return RunComparison(metrics=metrics, runs=rows)


NOT_FOUND: dict[int, OpenAPIResponse] = {404: {"description": "Not found", "content": {"application/json": {"model": ErrorBody}}}}


@app.get("/models", summary="Models with a registered spec")
def list_models() -> ModelList:
    return ModelList(models=[ModelSummary(**m) for m in spec_store().models()])


@app.put("/models/<model>", summary="Register (a new version of) a model's spec", responses={200: {"description": "The current spec"}})
def put_model(model: ModelName, spec: Annotated[ModelSpec, Body()]) -> Response[RegisteredSpec]:
    number, created = spec_store().put(model, spec)
    body = RegisteredSpec(model=model, spec_version=number, created=created, spec=spec)
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/models/<model>", summary="A model's current spec", responses={200: {"description": "The current spec"}, **NOT_FOUND})
def get_model(model: ModelName) -> RegisteredSpec:
    number, spec = spec_store().current(model)
    return RegisteredSpec(model=model, spec_version=number, created=False, spec=spec)


@app.post(
    "/models/<model>/runs",
    summary="Train again on the latest dataset version",
    responses={202: {"description": "Started"}, **NOT_FOUND},
)
def start_run(model: ModelName) -> Response[StartedRun]:
    spec_store().current(model)
    dataset_store().latest(model)
    run_id = f"{model[:40]}-requested-{uuid.uuid4().hex[:16]}"
    started = pipeline_runs.start_requested_run(model, client("stepfunctions"), get_settings().training_pipeline_arn, run_id, "api")
    body = StartedRun(run_id=started["run_id"], execution_arn=started["execution_arn"])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


class BatchRequest(BaseModel):
    prefix: str = Field(max_length=1024, description="batch/<model>/... in the data bucket; every CSV under it is scored")
    version: int | None = Field(default=None, ge=1, description="the version to score with; the champion when left out")


class BatchJob(BaseModel):
    execution_arn: str = Field(description="the batch inference execution; x.csv gets x.predictions.csv beside it")
    version: int


@app.post(
    "/models/<model>/batch",
    summary="Score every CSV under an S3 prefix",
    responses={202: {"description": "Started"}, **NOT_FOUND, 503: {"description": "No champion and no version named"}},
)
def start_batch(model: ModelName, request: Annotated[BatchRequest, Body()]) -> Response[BatchJob]:
    try:
        job = batch.resolve({"model": model, **request.model_dump()}, registry(), get_settings().data_bucket)
    except batch.BatchRejected as error:
        raise InvalidRecords([{"loc": ["body", "prefix"], "msg": str(error)}]) from None
    execution = client("stepfunctions").start_execution(
        stateMachineArn=get_settings().batch_inference_arn, name=f"{model[:40]}-batch-{uuid.uuid4().hex[:16]}", input=json.dumps(job)
    )
    body = BatchJob(execution_arn=execution["executionArn"], version=job["version"])
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/models/<model>/versions", summary="A model's versions and aliases")
def list_versions(model: ModelName) -> VersionList:
    store = registry()
    return VersionList(aliases=store.aliases(model), versions=[ModelVersion.model_validate(v) for v in store.versions(model)])


@app.get("/models/<model>/versions/<version>", summary="One model version", responses={200: {"description": "The version"}, **NOT_FOUND})
def get_version(model: ModelName, version: Annotated[int, Path(ge=1)]) -> ModelVersion:
    return ModelVersion.model_validate(registry().version(model, version))


@app.post("/models/<model>/versions/<version>/approve", summary="Approve a version waiting for manual approval")
def approve_version(model: ModelName, version: Annotated[int, Path(ge=1)], decision: Annotated[Decision, Body()]) -> ModelVersion:
    return _decide(model, version, True, decision.reason)


@app.post("/models/<model>/versions/<version>/reject", summary="Reject a version waiting for manual approval")
def reject_version(model: ModelName, version: Annotated[int, Path(ge=1)], decision: Annotated[Decision, Body()]) -> ModelVersion:
    return _decide(model, version, False, decision.reason)


def _decide(model: str, version: int, approve: bool, reason: str) -> ModelVersion:
    decided = registry().decide(model, version, approve, by=_caller(), reason=reason)
    sfn = client("stepfunctions")
    if approve:
        sfn.send_task_success(taskToken=decided["task_token"], output=json.dumps({"version": version, "by": decided["decided_by"]}))
    else:
        sfn.send_task_failure(taskToken=decided["task_token"], error="Rejected", cause=f"rejected by {decided['decided_by']}: {reason}")
    return ModelVersion.model_validate(decided)


def _caller() -> str:
    """Who made the change: the IAM principal API Gateway authenticated (SigV4), else 'anonymous'."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "anonymous"


@app.get("/audit", summary="The audit trail of a model's registry, spec and traffic changes")
def get_audit(model: Annotated[str, Query(pattern=MODEL_NAME_PATTERN)]) -> AuditTrail:
    return AuditTrail(records=[AuditRecord.model_validate(r) for r in audit_log().records(model)])


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS, description="feature name -> value, per record")
    routing_key: str | None = Field(default=None, max_length=256, description="the same key always gets the same variant")


class PredictResponse(BaseModel):
    model: str
    version: int
    variant: str = Field(description="champion or challenger")
    prediction_id: str = Field(description="send it back with ground truth to /feedback")
    predictions: list[dict[str, Any]] = Field(description="label and probabilities, or value, per record")


class TrafficRequest(BaseModel):
    challenger_percent: int = Field(ge=0, le=100)
    shadow: int | None = Field(default=None, ge=1)
    expected_revision: int = Field(ge=0, description="the revision read last (optimistic concurrency)")


class ArmResult(BaseModel):
    n: int = Field(description="predictions with feedback so far")
    mean: float | None = Field(description="accuracy, or mean absolute error for regression")
    interval: list[float] = Field(description="confidence interval of the mean at 1 - alpha")


class Experiment(BaseModel):
    status: Literal["collecting", "promote", "rollback", "keep_champion"]
    reason: str
    champion_version: int
    challenger_version: int
    metric: str = Field(description="accuracy (higher is better) or mae (lower is better)")
    baseline: float = Field(description="the champion's accuracy or RMSE at training time, which sized the test")
    minimum_detectable_effect: float
    alpha: float
    power: float
    required_per_arm: int = Field(description="fixed before the test started; no decision before both arms reach it")
    started_at: str
    checked_at: str | None = None
    arms: dict[str, ArmResult] = {}
    difference: float | None = Field(default=None, description="challenger minus champion, at the decision")
    interval: list[float] | None = Field(default=None, description="confidence interval of the difference")
    p_value: float | None = None


class TrafficResponse(BaseModel):
    aliases: dict[str, int]
    policy: TrafficPolicy
    experiment: Experiment | None = Field(default=None, description="the latest A/B test, running or decided")


class RollbackRequest(BaseModel):
    reason: str = Field(default="", max_length=1000)


@app.post(
    "/models/<model>/predict",
    summary="Predict for one record or a batch",
    responses={
        200: {"description": "Predictions"},
        503: {"description": "No deployed model", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def predict(model: ModelName, request: Annotated[PredictRequest, Body()]) -> PredictResponse:
    answer = predictor().predict(model, request.records, request.routing_key)
    captured = capture().send_prediction(model, request.records, answer)
    record_prediction_metrics(model, answer, captured)
    return PredictResponse(
        model=model, version=answer.version, variant=answer.variant, prediction_id=answer.prediction_id, predictions=answer.results
    )


class FeedbackRequest(BaseModel):
    prediction_id: str = Field(pattern=r"^[0-9a-f-]{36}$", description="as /predict returned it")
    actual: str | float = Field(description="the true label (classification) or value (regression)")
    index: int = Field(default=0, ge=0, lt=MAX_RECORDS, description="which record of a batch prediction it is for")


@app.post("/models/<model>/feedback", summary="Ground truth for an earlier prediction", responses={202: {"description": "Accepted"}})
def feedback(model: ModelName, request: Annotated[FeedbackRequest, Body()]) -> Response[dict]:
    _, spec = spec_store().current(model)
    actual = request.actual
    if spec.is_classification:
        actual = str(actual)
        if spec.target.classes and actual not in spec.target.classes:
            raise InvalidRecords([{"loc": ["body", "actual"], "msg": f"{actual[:40]!r} is not one of {spec.target.classes}"}])
    elif isinstance(actual, str):
        raise InvalidRecords([{"loc": ["body", "actual"], "msg": "a regression target takes a number"}])
    capture().send([feedback_record(model, request.prediction_id, actual, request.index)])
    body = {"accepted": True, "prediction_id": request.prediction_id}
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/models/<model>/traffic", summary="Aliases and the traffic policy")
def get_traffic(model: ModelName) -> TrafficResponse:
    aliases, policy, experiment = traffic_store().routing(model)
    latest = Experiment.model_validate(experiment) if experiment else None
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**policy), experiment=latest)


@app.put(
    "/models/<model>/traffic", summary="Change the challenger's share or the shadow", responses={409: {"description": "Stale revision"}}
)
def put_traffic(model: ModelName, request: Annotated[TrafficRequest, Body()]) -> TrafficResponse:
    aliases = registry().aliases(model)
    if request.challenger_percent and "challenger" not in aliases:
        raise Conflict(f"model {model!r} has no challenger to send traffic to")
    if request.shadow is not None:
        registry().version(model, request.shadow)
    policy = traffic_store().set(model, request.challenger_percent, request.shadow, request.expected_revision, by=_caller())
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**policy))


@app.post("/models/<model>/promote", summary="The challenger becomes champion", responses={409: {"description": "Nothing to promote"}})
def promote(model: ModelName) -> TrafficResponse:
    aliases = registry().promote(model, by=_caller())
    traffic_store().reset_share(model, by=_caller())
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**traffic_store().policy(model)))


@app.post("/models/<model>/rollback", summary="Drop the challenger, or restore the previous champion")
def rollback(model: ModelName, request: Annotated[RollbackRequest, Body()]) -> TrafficResponse:
    aliases = registry().rollback(model, by=_caller(), reason=request.reason)
    traffic_store().reset_share(model, by=_caller())
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**traffic_store().policy(model)))


class MonitoringReport(BaseModel):
    model: str
    version: int = Field(description="the champion that was checked")
    check_id: str
    checked_at: str
    window_start: str = Field(description="captured traffic from here on was compared with the training baseline")
    drift: dict[str, Any] = Field(description="verdict, drifted_features, per feature: test, adjusted p, effect size, histograms")
    performance: dict[str, Any] = Field(description="per serving version: labelled predictions, live metrics, decay, verdict")
    report_key: str = Field(description="this report in the artifacts bucket")
    html_key: str = Field(description="the same as a page with a chart per feature")


@app.get(
    "/models/<model>/drift",
    summary="The latest drift and performance check",
    responses={200: {"description": "The report"}, **NOT_FOUND},
)
def get_drift(model: ModelName) -> MonitoringReport:
    spec_store().current(model)
    report = model_checker().latest(model)
    if report is None:
        raise NotFound(f"model {model!r} has not been checked yet")
    return MonitoringReport.model_validate(report)


@app.get("/models/<model>/datasets", summary="A model's dataset versions, newest first")
def list_datasets(model: ModelName) -> DatasetList:
    return DatasetList(datasets=[DatasetVersion.model_validate(item) for item in dataset_store().list(model)])


@app.get("/runs/<run_id>", summary="One pipeline run", responses={200: {"description": "The run"}, **NOT_FOUND})
def get_run(run_id: Annotated[str, Path(max_length=128)]) -> Run:
    return Run.model_validate(run_store().get(run_id))


def _error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=ErrorBody(message=message).model_dump_json())


@app.exception_handler(UnicodeDecodeError)
def undecodable_body(error: UnicodeDecodeError) -> Response:
    return _error(400, "the request body is not UTF-8 JSON")


@app.exception_handler(InvalidRecords)
def invalid_records(error: InvalidRecords) -> Response:
    return Response(status_code=422, content_type=content_types.APPLICATION_JSON, body=json.dumps({"detail": error.errors}))


# Typed domain errors and the HTTP answer each gets.
ERROR_STATUS: dict[type[Exception], int] = {NotFound: 404, Conflict: 409, NoModel: 503}


@app.exception_handler(list(ERROR_STATUS))
def domain_error(error: Exception) -> Response:
    return _error(ERROR_STATUS[type(error)], str(error))
