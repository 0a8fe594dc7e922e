"""The serving context's routes: predictions and feedback, traffic and its changes, batch scoring."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from mlops.registry.versions import registry
from mlops.serving import batch, dataplane
from mlops.serving.predictor import MAX_RECORDS, predictor
from mlops.serving.records import InvalidRecords
from mlops.serving.traffic import TrafficPolicy, traffic_store
from mlops.shared.api import NOT_FOUND, ModelName, caller, unavailable
from mlops.shared.aws import client
from mlops.shared.errors import Conflict
from mlops.shared.settings import get_settings

router = Router()


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS, description="feature name -> value, per record")
    routing_key: str | None = Field(default=None, max_length=256, description="the same key always gets the same variant")


class PredictionWarning(BaseModel):
    record: int = Field(description="the record's index in the request")
    feature: str
    message: str


class PredictResponse(BaseModel):
    model: str
    version: int
    variant: str = Field(description="champion or challenger")
    prediction_id: str = Field(description="send it back with ground truth to /feedback")
    predictions: list[dict[str, Any]] = Field(description="label and probabilities, or value, per record")
    warnings: list[PredictionWarning] | None = Field(
        default=None,
        description="present when a record holds a value beyond what the training data showed (the feature's profile):"
        " a number outside the range seen, or a category never seen. The record is still answered.",
    )


class TrafficRequest(BaseModel):
    challenger_percent: int = Field(ge=0, le=100)
    shadow: int | None = Field(default=None, ge=1)
    expected_revision: int = Field(ge=0, description="the revision read last (optimistic concurrency)")


class ArmResult(BaseModel):
    n: int = Field(description="predictions with feedback so far")
    mean: float | None = Field(description="accuracy, or mean absolute error for regression")
    interval: list[float] = Field(description="confidence interval of the mean at 1 - alpha")


class SegmentResult(BaseModel):
    champion: ArmResult
    challenger: ArmResult
    verdict: str = Field(description="challenger better, challenger worse, no significant difference, or too few outcomes")
    difference: float | None = None
    interval: list[float] | None = Field(default=None, description="of the difference, at 1 - alpha")
    p_value: float | None = None
    p_value_adjusted: float | None = Field(default=None, description="Holm-corrected across the segments")


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
    required_per_arm: int = Field(description="fixed before the test started: the fixed design decides once both arms reach it")
    design: str = Field(
        default="fixed",
        description="fixed; sequential (may stop at any check; gives up at twice the sample);"
        " bandit (stops as sequential does, the split set by Thompson sampling)",
    )
    always_valid_p: float | None = Field(default=None, description="sequential and bandit designs: the running always-valid p-value")
    chance_challenger_better: float | None = Field(default=None, description="bandit: the posterior chance, which sets the split")
    challenger_percent: int | None = Field(default=None, description="bandit: the challenger's share after this check")
    segment: str | None = Field(default=None, description="the categorical feature whose values get their own results")
    segments: dict[str, SegmentResult] = Field(default={}, description="per value of the segment feature: arms, difference, verdict")
    history: list[dict[str, Any]] = Field(default=[], description="the test's checks, oldest first: difference, interval, segments")
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


class FeedbackRequest(BaseModel):
    prediction_id: str = Field(pattern=r"^[0-9a-f-]{36}$", description="as /predict returned it")
    actual: str | float = Field(description="the true label (classification) or value (regression)")
    index: int = Field(default=0, ge=0, lt=MAX_RECORDS, description="which record of a batch prediction it is for")


class BatchRequest(BaseModel):
    prefix: str = Field(max_length=1024, description="batch/<model>/... in the data bucket; every CSV under it is scored")
    version: int | None = Field(default=None, ge=1, description="the version to score with; the champion when left out")


class BatchJob(BaseModel):
    execution_arn: str = Field(description="the batch inference execution; x.csv gets x.predictions.csv beside it")
    version: int


@router.post(
    "/models/<model>/predict",
    summary="Predict for one record or a batch",
    responses={
        200: {"description": "Predictions"},
        **unavailable("No deployed model"),
    },
)
def predict(model: ModelName, request: Annotated[PredictRequest, Body()]) -> PredictResponse:
    # In AWS the data-plane function answers this route (mlops.serving.dataplane); the same code runs here.
    return PredictResponse.model_validate(dataplane.predict(predictor(), model, request.records, request.routing_key, capture_stream()))


@router.post("/models/<model>/feedback", summary="Ground truth for an earlier prediction", responses={202: {"description": "Accepted"}})
def feedback(model: ModelName, request: Annotated[FeedbackRequest, Body()]) -> Response[dict]:
    body = dataplane.feedback(predictor(), model, request.prediction_id, request.actual, request.index, capture_stream())
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)


def capture_stream() -> Any:
    """Where capture and metric lines go: None, the stdout of the moment (tests replace it)."""
    return None


@router.get("/models/<model>/traffic", summary="Aliases and the traffic policy")
def get_traffic(model: ModelName) -> TrafficResponse:
    aliases, policy, experiment = traffic_store().routing(model)
    latest = Experiment.model_validate(experiment) if experiment else None
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**policy), experiment=latest)


@router.put("/models/<model>/traffic", summary="Change the challenger's share or the shadow (409: a stale revision)")
def put_traffic(model: ModelName, request: Annotated[TrafficRequest, Body()]) -> TrafficResponse:
    aliases = registry().aliases(model)
    if request.challenger_percent and "challenger" not in aliases:
        raise Conflict(f"model {model!r} has no challenger to send traffic to")
    if request.shadow is not None:
        registry().version(model, request.shadow)
    policy = traffic_store().set(model, request.challenger_percent, request.shadow, request.expected_revision, by=caller(router))
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**policy))


@router.post("/models/<model>/promote", summary="The challenger becomes champion (409: nothing to promote)")
def promote(model: ModelName) -> TrafficResponse:
    aliases = registry().promote(model, by=caller(router))
    traffic_store().reset_share(model, by=caller(router))
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**traffic_store().policy(model)))


@router.post("/models/<model>/rollback", summary="Drop the challenger, or restore the previous champion")
def rollback(model: ModelName, request: Annotated[RollbackRequest, Body()]) -> TrafficResponse:
    aliases = registry().rollback(model, by=caller(router), reason=request.reason)
    traffic_store().reset_share(model, by=caller(router))
    return TrafficResponse(aliases=aliases, policy=TrafficPolicy(**traffic_store().policy(model)))


@router.post(
    "/models/<model>/batch",
    summary="Score every CSV under an S3 prefix",
    responses={202: {"description": "Started"}, **NOT_FOUND},
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
