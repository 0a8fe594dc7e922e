"""The monitoring context's routes: the latest drift and performance check of a model, and a check now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from mlops.data.spec_store import spec_store
from mlops.monitoring import schedule
from mlops.monitoring.checks import model_checker
from mlops.registry.versions import registry
from mlops.serving.predictor import NoModel
from mlops.shared.api import NOT_FOUND, ModelName, unavailable
from mlops.shared.aws import client
from mlops.shared.errors import NotFound

router = Router()


class MonitoringReport(BaseModel):
    model: str
    version: int = Field(description="the champion that was checked")
    check_id: str
    checked_at: str
    window_start: str = Field(description="captured traffic from here on was compared with the training baseline")
    drift: dict[str, Any] = Field(
        description="verdict, drifted_features, per feature: test, adjusted p, effect size, histograms; multivariate: PCA reconstruction"
    )
    data_quality: dict[str, Any] = Field(default={}, description="per feature: missing, out-of-range or unseen shares against training")
    performance: dict[str, Any] = Field(description="per serving version: labelled predictions, live metrics, decay, verdict")
    estimated_performance: dict[str, Any] = Field(
        default={}, description="the champion's metrics estimated without labels (CBPE or DLE), each with an interval, and a verdict"
    )
    report_key: str = Field(description="this report in the artifacts bucket")
    html_key: str = Field(description="the same as a page with a chart per feature")
    recent_checks: list[dict[str, Any]] = Field(default=[], description="the last checks' verdicts, newest first (this one included)")


@router.get(
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


class CheckRequested(BaseModel):
    model: str
    version: int = Field(description="the champion the check will compare with its training baseline")
    requested_at: str
    previous_check_id: str | None = Field(description="the latest check before this one: a newer check_id at GET .../drift is this one")


@router.post(
    "/models/<model>/checks",
    summary="Check drift and performance now, not at the next scheduled time",
    responses={
        202: {"description": "Requested: the ModelCheck function runs it, as it runs the scheduled ones"},
        **NOT_FOUND,
        **unavailable("No champion to check"),
    },
)
def request_check(model: ModelName) -> Response[CheckRequested]:
    spec_store().current(model)
    champion = registry().champion(model)
    if champion is None:
        raise NoModel(f"model {model!r} has no champion to check")
    latest = model_checker().last_check(model)
    # The same event the platform schedule sends, so an on-demand check is a scheduled one run early.
    schedule.announce(client("events"), schedule.CHECK_DUE, [{"model": model}])
    body = CheckRequested(
        model=model,
        version=champion,
        requested_at=datetime.now(UTC).isoformat(),
        previous_check_id=None if latest is None else latest["check_id"],
    )
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=body)
