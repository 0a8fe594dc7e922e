"""Local mode must deploy exactly what the template says: a disagreement fails here."""

import json

from local.intrinsics import ACCOUNT_ID
from tests.infra.test_template import platform_functions, resources


def exists(local_stack, resource_type: str, physical: str) -> bool:
    checks = {
        "AWS::DynamoDB::Table": lambda: local_stack.client("dynamodb").describe_table(TableName=physical),
        "AWS::S3::Bucket": lambda: local_stack.client("s3").head_bucket(Bucket=physical),
        "AWS::SNS::Topic": lambda: local_stack.client("sns").get_topic_attributes(TopicArn=physical),
        "AWS::StepFunctions::StateMachine": lambda: local_stack.client("stepfunctions").describe_state_machine(stateMachineArn=physical),
        "AWS::KinesisFirehose::DeliveryStream": lambda: local_stack.client("firehose").describe_delivery_stream(
            DeliveryStreamName=physical
        ),
    }
    checks[resource_type]()
    return True


def test_every_function_gets_exactly_the_templates_environment(local_stack, template):
    lambda_client = local_stack.client("lambda")
    deployed = {f["FunctionName"].split("-", 1)[1]: f for f in lambda_client.list_functions()["Functions"]}
    for logical_id, function in platform_functions(template).items():
        expected = function["Properties"]["Environment"]["Variables"]
        actual = deployed[logical_id]["Environment"]["Variables"]
        assert set(actual) == set(expected), logical_id
        for name, value in expected.items():
            if isinstance(value, str):
                assert actual[name] == value, (logical_id, name)
            else:
                referenced = value["Ref"]
                assert exists(local_stack, template["Resources"][referenced]["Type"], actual[name]), (logical_id, name)


def test_functions_keep_their_runtime_settings(local_stack, template):
    lambda_client = local_stack.client("lambda")
    for logical_id, function in platform_functions(template).items():
        config = lambda_client.get_function_configuration(FunctionName=f"MlopsPlatform-{logical_id}")
        props = function["Properties"]
        assert config["MemorySize"] == props["MemorySize"] and config["Timeout"] == props["Timeout"], logical_id
        assert config["Architectures"] == props["Architectures"], logical_id
        assert len(config.get("Layers", [])) == len(props.get("Layers", [])), logical_id


def test_the_state_machine_runs_the_definition_with_the_deployed_functions(local_stack):
    sfn = local_stack.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=local_stack.outputs["TrainingPipelineArn"])["definition"])
    functions = {f["FunctionArn"] for f in local_stack.client("lambda").list_functions()["Functions"]}
    tasks = [s for s in definition["States"].values() if s["Type"] == "Task"]
    invokes = [s for s in tasks if s["Resource"].startswith("arn:aws:states:::lambda:")]
    assert invokes and all(s["Parameters"]["FunctionName"] in functions for s in invokes)
    # The SageMaker job gets the deployed role, and an image this assembly built.
    (job,) = [s for s in tasks if s["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"]
    roles = {r["Arn"] for r in local_stack.client("iam").list_roles()["Roles"]}
    assert job["Parameters"]["RoleArn"] in roles
    assert job["Parameters"]["AlgorithmSpecification"]["TrainingImage"].startswith(f"{ACCOUNT_ID}.dkr.ecr.")


def test_rules_and_alarms_are_all_deployed(local_stack, template):
    events = local_stack.client("events")
    deployed_rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    for logical_id, rule in resources(template, "AWS::Events::Rule").items():
        deployed = deployed_rules[f"MlopsPlatform-{logical_id}"]
        assert deployed.get("ScheduleExpression") == rule["Properties"].get("ScheduleExpression")
    alarms = {
        a["AlarmName"]
        for a in local_stack.client("cloudwatch").describe_alarms()["MetricAlarms"]
        if a["AlarmName"].startswith("MlopsPlatform-")
    }
    assert alarms == {f"MlopsPlatform-{logical_id}" for logical_id in resources(template, "AWS::CloudWatch::Alarm")}
