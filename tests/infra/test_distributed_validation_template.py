"""The validation of large uploads as `cdk deploy` would create it: a Distributed Map over the chunk
list PlanValidation writes, and the permissions a Distributed Map needs to run at all."""

import json
from pathlib import Path

from tests.infra.test_template import ASL, platform_functions, resources

STATEMACHINES = Path(__file__).resolve().parents[2] / "infra/statemachines"


def test_the_chunks_are_validated_by_a_distributed_map_over_the_plan_then_merged():
    states = ASL["States"]
    assert states["PlanValidation"]["Next"] == "ValidateChunks"
    chunks = states["ValidateChunks"]
    assert chunks["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert chunks["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.validation.bucket", "Key.$": "$.validation.chunks_key"},
    }
    assert chunks["ItemSelector"]["chunk.$"] == "$$.Map.Item.Value"
    assert "ToleratedFailurePercentage" not in chunks and "ToleratedFailureCount" not in chunks  # one bad chunk fails the run
    assert chunks["ResultPath"] is None  # the merge reads the chunks' files, not the map's results
    assert chunks["Catch"][0]["Next"] == "RecordFailure" and chunks["Next"] == "MergeValidation"
    assert states["MergeValidation"]["Next"] == states["Validate"]["Next"] == "Version"


def _distributed_maps(states: dict) -> list[dict]:
    found = []
    for state in states.values():
        if state["Type"] == "Map":
            if state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                found.append(state)
            found += _distributed_maps(state["ItemProcessor"]["States"])
    return found


def _actions_on(statements: list[dict], action: str) -> list[str]:
    return [json.dumps(s["Resource"]) for s in statements if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


# Each state machine's logical id prefix and its definition (the template holds it as an S3 asset).
DEFINITIONS = {"PipelineTraining": "training_pipeline", "BatchBatchInference": "batch_inference", "RolloutRollout": "rollout"}


def test_every_state_machine_with_a_distributed_map_may_start_watch_and_stop_its_own_children(template):
    """Without states:StartExecution on itself a Distributed Map's run fails at once in AWS."""
    with_maps = []
    for logical_id, machine in resources(template, "AWS::StepFunctions::StateMachine").items():
        (stem,) = [v for k, v in DEFINITIONS.items() if logical_id.startswith(k)]
        if not _distributed_maps(json.loads((STATEMACHINES / f"{stem}.asl.json").read_text())["States"]):
            continue
        with_maps.append(stem)
        props = machine["Properties"]
        role = props["RoleArn"]["Fn::GetAtt"][0]
        statements = [
            s
            for policy in resources(template, "AWS::IAM::Policy").values()
            if policy["Properties"]["Roles"][0]["Ref"] == role
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        # Named, so its role can name it: a Ref to the machine from its own role's policy would be a cycle.
        (start,) = _actions_on(statements, "states:StartExecution")
        assert f':stateMachine:{props["StateMachineName"]}"' in start, start
        for action in ("states:DescribeExecution", "states:StopExecution"):
            assert any(f"execution:{props['StateMachineName']}/*" in r for r in _actions_on(statements, action)), (stem, action)
    assert sorted(with_maps) == ["batch_inference", "training_pipeline"]


def test_the_merge_has_the_memory_for_every_rows_digest(template):
    (merge,) = [f["Properties"] for k, f in platform_functions(template).items() if k.startswith("PipelineMergeValidation")]
    assert merge["MemorySize"] == 3008 and merge["Timeout"] == 900
