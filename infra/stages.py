"""Deployment stages (dev, staging, prod) from cdk.json's context, validated before anything is built.

`npx cdk deploy -c stage=staging` picks one; a typo in a stage's settings stops synth with the
field at fault instead of deploying something half-configured.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

StageName = Literal["dev", "staging", "prod"]
DEFAULT_STAGE: StageName = "dev"


class ReservedConcurrency(BaseModel):
    """Concurrency reserved where a runaway would hurt. Lambda keeps 100 of the account's concurrency
    unreserved, so a new account (often 10 in all) can reserve none: dev leaves this unset."""

    model_config = ConfigDict(extra="forbid")

    serving: int = Field(ge=1, description="the data-plane function: its share is kept from everything else, and capped")
    checks: int = Field(ge=1, description="model checks: a burst of due checks cannot take the serving path's concurrency")
    retrain: int = Field(default=1, ge=1, description="retraining decisions, one at a time: the daily cap is counted without races")


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stack_name: str = Field(alias="stackName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$", description="else the deploying credentials' account")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="else the CLI's region")
    alarm_email: str = Field(default="", alias="alarmEmail", pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    reserved_concurrency: ReservedConcurrency | None = Field(default=None, alias="reservedConcurrency")


class StageConfigError(ValueError):
    pass


def stage_from_context(context: Any) -> tuple[StageName, Stage]:
    """context: the app's node, answering try_get_context. Raises StageConfigError naming the field."""
    name = context.try_get_context("stage") or DEFAULT_STAGE
    stages = context.try_get_context("stages") or {}
    if name not in ("dev", "staging", "prod"):
        raise StageConfigError(f"stage {name!r} is not one of dev, staging, prod (cdk.json context 'stages')")
    if name not in stages:
        raise StageConfigError(f"stage {name!r} has no settings under cdk.json context 'stages'")
    try:
        return name, Stage.model_validate(stages[name])
    except ValidationError as error:
        problems = "; ".join(f"stages.{name}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise StageConfigError(problems) from None
