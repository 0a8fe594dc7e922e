"""The rollout state machine's steps (see mlops.rollout); the state says which."""

import os

from mlops import rollout
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import registry, spec_store, traffic_store

ROLLOUT = "rollout-state-machine"


@pipeline_step
def lambda_handler(event, context):
    action, state = event["action"], event["state"]
    if action == "plan":
        _, spec = spec_store().current(state["model"])
        return rollout.plan(state, spec, registry(), client("cloudwatch"), os.environ["POWERTOOLS_METRICS_NAMESPACE"])
    if action == "shift":
        return rollout.shift(state, traffic_store(), by=ROLLOUT)
    if action == "check":
        return rollout.check(state, client("cloudwatch"))
    if action == "judge":
        _, spec = spec_store().current(state["model"])
        return rollout.judge(state, spec, client("s3"), get_settings().capture_bucket, traffic_store())
    return rollout.finish(state, registry(), traffic_store(), by=ROLLOUT)
