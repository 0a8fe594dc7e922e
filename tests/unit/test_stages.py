"""Stages from cdk.json: each is valid, and a bad one stops synth naming the field."""

import json
from pathlib import Path

import pytest

from infra.stages import Stage, StageConfigError, stage_from_context

CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]


class Node:
    def __init__(self, context: dict) -> None:
        self.context = context

    def try_get_context(self, key: str):
        return self.context.get(key)


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_every_stage_in_cdk_json_is_valid_and_has_its_own_stack(stage):
    name, settings = stage_from_context(Node({**CONTEXT, "stage": stage}))
    assert name == stage
    others = {stage_from_context(Node({**CONTEXT, "stage": s}))[1].stack_name for s in ("dev", "staging", "prod") if s != stage}
    assert settings.stack_name not in others


def test_dev_is_the_default_and_keeps_the_local_stack_name():
    name, settings = stage_from_context(Node({k: v for k, v in CONTEXT.items() if k != "stage"}))
    assert (name, settings.stack_name) == ("dev", "MlopsPlatform")


def test_an_unknown_stage_or_a_bad_field_is_refused_with_its_name():
    with pytest.raises(StageConfigError, match="'qa' is not one of"):
        stage_from_context(Node({**CONTEXT, "stage": "qa"}))
    bad = {**CONTEXT, "stage": "prod", "stages": {**CONTEXT["stages"], "prod": {"stackName": "x", "account": "12345"}}}
    with pytest.raises(StageConfigError, match=r"stages\.prod\.account"):
        stage_from_context(Node(bad))
    typo = {**CONTEXT, "stages": {**CONTEXT["stages"], "dev": {"stackName": "MlopsPlatform", "alarmMail": "a@b.c"}}}
    with pytest.raises(StageConfigError, match=r"stages\.dev\.alarmMail"):
        stage_from_context(Node(typo))


def test_concurrency_is_reserved_in_staging_and_prod_and_left_to_the_account_in_dev():
    stages = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]["stages"]
    reserved = {name: Stage.model_validate(settings).reserved_concurrency for name, settings in stages.items()}
    assert reserved["dev"] is None
    assert reserved["staging"] is not None and reserved["prod"] is not None
    assert (reserved["staging"].serving, reserved["staging"].checks, reserved["staging"].retrain) == (50, 5, 1)
    assert (reserved["prod"].serving, reserved["prod"].checks, reserved["prod"].retrain) == (200, 10, 1)


def test_a_misspelt_concurrency_names_its_field():
    typo = {**CONTEXT, "stages": {**CONTEXT["stages"], "dev": {"stackName": "M", "reservedConcurrency": {"serving": 5, "check": 1}}}}
    with pytest.raises(StageConfigError, match=r"stages\.dev\.reservedConcurrency\.check"):
        stage_from_context(Node(typo))
