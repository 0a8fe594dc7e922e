"""The rollout state machine's steps (see mlops.serving.rollout); the state says which."""

import os

from mlops.data.spec_store import spec_store
from mlops.registry.versions import registry
from mlops.serving import rollout
from mlops.serving.traffic import traffic_store
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings, require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_AUDIT_TABLE, env.ENV_CAPTURE_BUCKET, env.ENV_MODELS_TABLE)

ROLLOUT = "rollout-state-machine"


@pipeline_step
def lambda_handler(event, context):
    action, state = event["action"], event["state"]
    if action == "plan":
        _, spec = spec_store().current(state["model"])
        namespace = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
        planned = {**state, "execution": event.get("execution", "")}
        return rollout.plan(planned, spec, registry(), traffic_store(), client("cloudwatch"), namespace, by=ROLLOUT)
    if action == "shift":
        return rollout.shift(state, registry(), traffic_store(), by=ROLLOUT)
    if action == "check":
        return rollout.check(state, registry(), client("cloudwatch"))
    if action == "hand_over":
        return rollout.hand_over(state, event["execution"], traffic_store())
    if action == "judge":
        _, spec = spec_store().current(state["model"])
        return rollout.judge(state, spec, registry(), client("s3"), get_settings().capture_bucket, traffic_store(), client("cloudwatch"))
    return rollout.finish(state, registry(), traffic_store(), by=ROLLOUT)
