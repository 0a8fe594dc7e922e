"""The typed state of a pipeline run: a step that drops or misshapes a section fails at once, naming it."""

import pytest
from pydantic import ValidationError

from mlops.training.run_state import RunState, run_step

UPLOADED = {"request": {"model": "churn", "trigger": "upload", "source": {"bucket": "b", "key": "datasets/churn/a.csv"}}, "run_id": "r1"}


def test_a_step_returning_a_misshapen_section_fails_naming_the_field():
    @run_step
    def broken_prepare(event, context):
        return {**event, "splits": {"train": {"key": "k"}}}  # no row count

    with pytest.raises(ValidationError, match=r"splits\.train\.rows"):
        broken_prepare(UPLOADED, None)


def test_a_step_receiving_a_state_without_its_run_id_fails_before_it_runs():
    ran = []

    @run_step
    def step(event, context):
        ran.append(event)
        return event

    with pytest.raises(ValidationError, match="run_id"):
        step({"request": UPLOADED["request"]}, None)
    assert ran == []


def test_sections_the_model_does_not_name_pass_through():
    state = RunState.model_validate({**UPLOADED, "approval": {"version": 3}, "trials": [{"index": 0}]})
    assert state.model_dump()["approval"] == {"version": 3}
