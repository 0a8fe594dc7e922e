"""The monitoring context's routes: the latest drift and performance check of a model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from mlops.data.spec_store import spec_store
from mlops.monitoring.checks import model_checker
from mlops.shared.api import NOT_FOUND, ModelName
from mlops.shared.errors import NotFound

router = Router()


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
