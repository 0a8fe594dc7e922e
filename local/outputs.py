"""Publishes the deployed stack's outputs so `aws cloudformation describe-stacks` answers as after a deploy."""

from __future__ import annotations

import json
import warnings
from typing import Any

from local.deployer import Deployment

# The published stack carries only the outputs; its one resource is a no-op marker.
_MARKER = {"LocalModeMarker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def publish_stack(cloudformation: Any, deployment: Deployment) -> None:
    template = {
        "Description": "Deployed by local mode: the resources were created through the emulator's APIs",
        "Resources": _MARKER,
        "Outputs": {name: {"Value": value} for name, value in deployment.outputs.items()},
    }
    with warnings.catch_warnings():
        # moto's CloudFormation warns that it does not model the marker; it only needs to store it.
        warnings.simplefilter("ignore", UserWarning)
        cloudformation.create_stack(StackName=deployment.stack_name, TemplateBody=json.dumps(template))


def read_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
