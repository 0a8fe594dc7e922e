"""Assertions on the synthesized template: what `cdk deploy` would create."""

import json
from pathlib import Path

import pytest

from infra.constructs.pipeline_construct import PipelineConstruct
from mlops.data.spec import QualityGates
from mlops.shared import settings
from tests.conftest import STACK_NAME

ASL = json.loads((Path(__file__).resolve().parents[2] / "infra/statemachines/training_pipeline.asl.json").read_text())


def resources(template: dict, type_name: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_name}


def platform_functions(template: dict) -> dict[str, dict]:
    """The platform's own functions (not CDK's singleton custom-resource handlers)."""
    return {k: r for k, r in resources(template, "AWS::Lambda::Function").items() if not k.startswith("BucketNotificationsHandler")}


def test_buckets_are_encrypted_versioned_private_and_logged(template):
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 4
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}, logical_id
        assert "LoggingConfiguration" in props or logical_id.startswith("StorageAccessLogs"), logical_id
        assert bucket["DeletionPolicy"] == "Retain", logical_id


def test_every_bucket_refuses_plain_http(template):
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in resources(template, "AWS::S3::BucketPolicy").values()}
    for logical_id in resources(template, "AWS::S3::Bucket"):
        statements = policies[logical_id]["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in statements
        ), logical_id


def test_tables_have_point_in_time_recovery_and_the_tables_key(template):
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 3
    for logical_id, table in tables.items():
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        sse = table["Properties"]["SSESpecification"]
        assert sse["SSEEnabled"] and sse["SSEType"] == "KMS" and sse["KMSMasterKeyId"]["Fn::GetAtt"][0].startswith("StorageTablesKey")


def test_data_artifacts_and_capture_have_their_own_rotated_keys(template):
    keys = resources(template, "AWS::KMS::Key")
    assert len(keys) == 7 and all(k["Properties"]["EnableKeyRotation"] for k in keys.values())  # + the topic's, logs and queues
    for logical_id, bucket in resources(template, "AWS::S3::Bucket").items():
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        if logical_id.startswith("StorageAccessLogs"):  # server access logging cannot write to a KMS bucket
            assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
            continue
        name = logical_id.removeprefix("Storage").split("Bucket")[0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"]
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0].startswith(f"Storage{name}Key"), logical_id


def test_functions_are_arm64_python312_or_image_and_traced(template):
    functions = platform_functions(template)
    assert len(functions) == 28
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"], logical_id
        assert props.get("Runtime") == "python3.12" or props.get("PackageType") == "Image", logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id


def test_function_environment_uses_only_the_shared_names(template):
    allowed = {value for name, value in vars(settings).items() if name.startswith("ENV_")}
    for logical_id, function in platform_functions(template).items():
        names = set(function["Properties"]["Environment"]["Variables"])
        assert names - allowed <= {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}, logical_id


def all_states(states: dict) -> dict:
    """Top-level states and those inside Map iterations."""
    found = dict(states)
    for state in states.values():
        if state["Type"] == "Map":
            found |= all_states(state["ItemProcessor"]["States"])
    return found


def test_every_pipeline_task_retries_and_every_failure_is_caught():
    tasks = {name: state for name, state in all_states(ASL["States"]).items() if state["Type"] == "Task"}
    jobs = {name for name, state in tasks.items() if state["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"}
    assert len(tasks) == 23 and jobs == {"TrialJob", "TrainingJob"}
    for name, state in tasks.items():
        if name in jobs:  # a retry would reuse the job's name, which SageMaker never accepts twice
            assert "Retry" not in state, name
        else:
            assert state["Retry"] and state["Retry"][0]["BackoffRate"] > 1, name
    caught = {name: state for name, state in ASL["States"].items() if state["Type"] in ("Task", "Map")}
    for name, state in caught.items():  # a failing trial fails its Map, which the Map's Catch takes
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
        assert state["Catch"][-1]["Next"] == ("RunFailed" if name == "RecordFailure" else "RecordFailure"), name


def test_an_approval_that_times_out_expires_its_version_before_the_run_fails():
    waiting = ASL["States"]["AwaitApproval"]
    assert waiting["TimeoutSecondsPath"] == "$.spec.gates.approval_timeout_seconds" and "TimeoutSeconds" not in waiting
    assert waiting["Catch"][0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "ExpireApproval"}
    expire = ASL["States"]["ExpireApproval"]
    assert expire["Parameters"]["FunctionName"] == "${RequestApprovalFunctionArn}" and expire["Next"] == "RecordFailure"
    # The pipeline outlives the longest window a spec may ask for.
    longest = QualityGates.model_json_schema()["properties"]["approval_timeout_seconds"]["maximum"]
    assert longest < PipelineConstruct.TIMEOUT.to_seconds()


def test_uploads_are_validated_and_identical_content_is_not_retrained():
    upload = {"Variable": "$.trigger", "StringEquals": "upload"}
    distributed = {"Variable": "$.source.validation.path", "StringEquals": "distributed"}
    assert ASL["States"]["FromUpload"]["Choices"] == [
        {"And": [upload, distributed], "Next": "PlanValidation"},
        {**upload, "Next": "Validate"},
    ]
    # A requested or automatic run goes through NewData too: Ingest says whether it would train a twin of the champion
    assert ASL["States"]["FromUpload"]["Default"] == "NewData"
    assert ASL["States"]["NewData"]["Default"] == "RecordSkipped"


def test_streaming_steps_get_disk_and_numpy_and_those_that_stage_parquet_get_duckdb(template):
    for name in ("PipelineValidate", "PipelinePlanValidation", "PipelineValidateChunk", "PipelineMergeValidation", "PipelinePrepare"):
        (props,) = [f["Properties"] for k, f in platform_functions(template).items() if k[:-8] == name]
        layers = [layer["Ref"].split("Layer")[0].removeprefix("Functions") for layer in props["Layers"]]
        staging = name in ("PipelineValidate", "PipelinePlanValidation")
        assert props["EphemeralStorage"] == {"Size": 4096} and layers == ["Common", "Serving", *(["Tables"] if staging else [])]


def test_the_state_machine_gets_every_step_function_it_names(template):
    (state_machine,) = [r for k, r in resources(template, "AWS::StepFunctions::StateMachine").items() if k.startswith("PipelineTraining")]
    substitutions = set(state_machine["Properties"]["DefinitionSubstitutions"])
    tasks = [state for state in all_states(ASL["States"]).values() if state["Type"] == "Task"]
    named = {state["Parameters"]["FunctionName"][2:-1] for state in tasks if "FunctionName" in state["Parameters"]}
    assert named | {"TrainingJobRoleArn", "TrainingJobImage"} == substitutions
    assert state_machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"
    assert state_machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_uploads_under_datasets_start_the_pipeline_with_a_dead_letter_queue(template):
    rules = resources(template, "AWS::Events::Rule")
    (upload_rule,) = [
        r
        for r in rules.values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
        and r["Properties"]["EventPattern"]["detail"]["object"]["key"] == [{"prefix": settings.DATASETS_PREFIX}]
    ]
    pattern = upload_rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": settings.DATASETS_PREFIX}]
    (target,) = upload_rule["Properties"]["Targets"]
    # Through StartRun, which names the execution after the upload (one run per upload)
    assert target["Arn"]["Fn::GetAtt"][0].startswith("PipelineStartRun")
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    schedules = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    assert [s["Properties"]["ScheduleExpression"] for s in schedules] == ["rate(15 minutes)"]


def test_the_topic_has_a_key_cloudwatch_alarms_may_use(template):
    (topic,) = resources(template, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = resources(template, "AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"]["Statement"]
    granted = [s for s in statements if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert granted and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(granted[0]["Action"])


def test_alarms_notify_the_topic(template):
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "NotificationsTopicAE679CBD"}], logical_id
        assert alarm["Properties"]["OKActions"] == [{"Ref": "NotificationsTopicAE679CBD"}], logical_id


def alarmed(template: dict, namespace: str, metric: str) -> list[dict]:
    return [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if (a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) == (namespace, metric)
    ]


def test_every_function_is_alarmed_on_throttles_and_every_dead_letter_queue_on_depth(template):
    functions = platform_functions(template)  # CDK's own deploy-time handler is not the platform's
    throttled = {a["Dimensions"][0]["Value"]["Ref"] for a in alarmed(template, "AWS/Lambda", "Throttles")}
    assert throttled == set(functions)
    queues = resources(template, "AWS::SQS::Queue")
    depth = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarmed(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert depth == set(queues) and len(queues) >= 4


def test_the_api_pipelines_and_entry_functions_are_alarmed(template):
    assert (
        alarmed(template, "AWS/ApiGateway", "5XXError") and alarmed(template, "AWS/ApiGateway", "Latency")[0]["ExtendedStatistic"] == "p99"
    )
    assert len(alarmed(template, "AWS/States", "ExecutionsFailed")) == 3
    assert len(alarmed(template, "AWS/Lambda", "Errors")) == 6  # API, Predict, StartRun, ModelCheck, Retrain, ScheduledChecks
    assert alarmed(template, "MLOps", "PipelineRunsFailed")


def test_drift_findings_reach_the_retraining_function_with_a_dead_letter_queue(template):
    rules = resources(template, "AWS::Events::Rule").values()
    (findings,) = [r["Properties"] for r in rules if "DriftDetected" in json.dumps(r["Properties"].get("EventPattern", {}))]
    detail_types = ["DriftDetected", "PerformanceDecayed", "EstimatedPerformanceDecayed"]
    assert findings["EventPattern"] == {"source": ["mlops.platform"], "detail-type": detail_types}
    (target,) = findings["Targets"]
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_api_methods_require_iam_and_the_stage_is_throttled_and_logged(template):
    for logical_id, method in resources(template, "AWS::ApiGateway::Method").items():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM", logical_id
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    settings_ = stage["Properties"]["MethodSettings"][0]
    assert settings_["ThrottlingRateLimit"] == 500 and settings_["ThrottlingBurstLimit"] == 1000
    assert "AccessLogSetting" in stage["Properties"] and stage["Properties"]["TracingEnabled"] is True


@pytest.mark.parametrize(
    "output",
    [
        "DataBucketName",
        "ArtifactsBucketName",
        "CaptureBucketName",
        "CaptureDatabaseName",
        "ApiUrl",
        "TrainingPipelineArn",
        "NotificationTopicArn",
        "RunsTableName",
        "ModelsTableName",
        "AuditTableName",
        "PlatformDashboardName",
        "RolloutArn",
        "BatchInferenceArn",
    ],
)
def test_stack_outputs_name_what_a_user_needs(template, output):
    assert output in template["Outputs"]


ROLLOUT = json.loads((Path(__file__).resolve().parents[2] / "infra/statemachines/rollout.asl.json").read_text())


def test_every_rollout_step_retries_and_a_failing_step_ends_in_finish_which_rolls_back():
    tasks = {name: state for name, state in ROLLOUT["States"].items() if state["Type"] == "Task"}
    assert set(tasks) == {"Plan", "Shift", "Check", "Judge", "HandOver", "ContinueAsNew", "Finish"}
    for name, state in tasks.items():
        assert state["Retry"], name
        if name != "Finish":
            assert state["Catch"][-1] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Finish"}, name
    assert ROLLOUT["States"]["Bake"] == {**ROLLOUT["States"]["Bake"], "Type": "Wait", "SecondsPath": "$.bake_seconds"}


def test_capture_lines_of_both_api_functions_reach_firehose_which_unpacks_them(template):
    subscriptions = resources(template, "AWS::Logs::SubscriptionFilter")
    logged = {s["Properties"]["LogGroupName"]["Ref"].split("Logs")[0] for s in subscriptions.values()}
    assert logged == {"ServingApi", "ServingPredict"}
    (stream_id,) = resources(template, "AWS::KinesisFirehose::DeliveryStream")
    for subscription in subscriptions.values():
        assert subscription["Properties"]["FilterPattern"] == f"{{ $.capture_schema = {settings.CAPTURE_SCHEMA} }}"
        assert subscription["Properties"]["DestinationArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    destination = resources(template, "AWS::KinesisFirehose::DeliveryStream")[stream_id]["Properties"]["ExtendedS3DestinationConfiguration"]
    processors = [p["Type"] for p in destination["ProcessingConfiguration"]["Processors"]]
    assert processors == [
        "Decompression",
        "CloudWatchLogProcessing",
        "RecordDeAggregation",
        "MetadataExtraction",
        "AppendDelimiterToRecord",
    ]
    # Partitioned by the records' model, then the UTC hour: captured/model=<model>/YYYY/MM/DD/HH/
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert destination["Prefix"] == "captured/model=!{partitionKeyFromQuery:model}/!{timestamp:yyyy/MM/dd/HH}/"
    (query,) = [
        p["ParameterValue"]
        for p in destination["ProcessingConfiguration"]["Processors"][3]["Parameters"]
        if p["ParameterName"] == "MetadataExtractionQuery"
    ]
    assert query == "{model: .model}" and "!{firehose:error-output-type}" in destination["ErrorOutputPrefix"]
    assert destination["BufferingHints"]["SizeInMBs"] >= 64  # dynamic partitioning's least


def test_the_data_plane_is_its_own_lean_snapstart_function_behind_an_alias(template):
    functions = platform_functions(template)
    (predict_id,) = [k for k in functions if k.startswith("ServingPredict")]
    props = functions[predict_id]["Properties"]
    assert props["Handler"] == "handlers.handle_predict.lambda_handler" and props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    (layer,) = props["Layers"]
    assert layer["Ref"].startswith("FunctionsServingLayer")  # onnxruntime and numpy; boto3 is the runtime's
    assert set(props["Environment"]["Variables"]) - {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} == {
        settings.ENV_MODELS_TABLE
    }
    (alias,) = resources(template, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live" and alias["Properties"]["FunctionName"] == {"Ref": predict_id}


def test_post_predict_and_feedback_reach_the_data_plane_and_everything_else_the_control_plane(template):
    paths = api_paths(template)
    targets = {}
    for method in resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        uri = json.dumps(props["Integration"]["Uri"])
        target = "data" if "ServingPredictLive" in uri else "control" if "ServingApi" in uri else uri
        targets[(paths[json.dumps(props["ResourceId"])], props["HttpMethod"])] = target
    assert targets == {
        ("/", "ANY"): "control",
        ("/{proxy+}", "ANY"): "control",
        ("/models", "ANY"): "control",
        ("/models/{model}", "ANY"): "control",
        ("/models/{model}/{proxy+}", "ANY"): "control",
        ("/models/{model}/predict", "POST"): "data",
        ("/models/{model}/predict", "ANY"): "control",
        ("/models/{model}/feedback", "POST"): "data",
        ("/models/{model}/feedback", "ANY"): "control",
    }


def api_paths(template: dict) -> dict[str, str]:
    """Each API Gateway resource id (as the template refers to it) -> its full path."""
    (api_id,) = resources(template, "AWS::ApiGateway::RestApi")
    paths = {json.dumps({"Fn::GetAtt": [api_id, "RootResourceId"]}): "/"}
    pending = dict(resources(template, "AWS::ApiGateway::Resource"))
    while pending:
        for logical_id, resource in list(pending.items()):
            parent = json.dumps(resource["Properties"]["ParentId"])
            if parent in paths:
                paths[json.dumps({"Ref": logical_id})] = paths[parent].rstrip("/") + "/" + resource["Properties"]["PathPart"]
                del pending[logical_id]
    return paths


BATCH = json.loads((Path(__file__).resolve().parents[2] / "infra/statemachines/batch_inference.asl.json").read_text())


def test_batch_inference_is_a_distributed_map_over_the_prefix_with_retried_tasks():
    score_files = BATCH["States"]["ScoreFiles"]
    assert score_files["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert score_files["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert "ToleratedFailurePercentage" not in score_files  # the default, 0: a file that fails, fails the job
    for task in (BATCH["States"]["Resolve"], score_files["ItemProcessor"]["States"]["Score"]):
        assert task["Retry"][0]["ErrorEquals"][-1] == "TransientError"


def test_whoever_starts_a_run_may_also_look_it_up(template):
    """StartRun, the API and Retrain call DescribeExecution first (duplicate starts): without the
    permission AWS answers AccessDenied, not ExecutionDoesNotExist, and every start would fail."""
    policies = resources(template, "AWS::IAM::Policy").values()
    for role_prefix in ("PipelineStartRunServiceRole", "ServingApiServiceRole", "ModelChecksRetrainServiceRole"):
        (policy,) = [p for p in policies if p["Properties"]["Roles"][0]["Ref"].startswith(role_prefix)]
        actions = {
            a
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        assert {"states:StartExecution", "states:DescribeExecution"} <= actions, role_prefix


# History events one visit to a state adds (Step Functions' execution history), and what each retry
# of a Task adds (TaskScheduled, TaskStarted, TaskFailed).
EVENTS_PER_STATE = {"Task": 5, "Wait": 2, "Choice": 2, "Pass": 2, "Succeed": 2, "Fail": 1}
EVENTS_PER_RETRY = 3
HISTORY_LIMIT = 25_000


def test_a_28_day_ab_test_checked_every_second_keeps_each_executions_history_under_the_limit():
    from mlops.serving.rollout import CHECKS_PER_EXECUTION

    # Given the A/B loop of the rollout machine (Bake -> ... -> Decided -> Bake), each Task retried to its limit
    states, loop, name = ROLLOUT["States"], [], "Bake"
    while not loop or name != "Bake":
        loop.append(name)
        state = states[name]
        name = {"Healthy": "IsExperiment", "IsExperiment": "Judge", "Decided": "Bake"}.get(name) or state["Next"]

    def worst(name: str) -> int:
        state = states[name]
        retries = sum(r["MaxAttempts"] for r in state.get("Retry", []))
        return EVENTS_PER_STATE[state["Type"]] + EVENTS_PER_RETRY * retries

    per_check = sum(worst(name) for name in loop)
    # The way in (Resumed -> Bake, or Plan/Shift first) and the way out (HandOver, ContinueAsNew, Finish, its ending)
    around = (
        sum(worst(name) for name in ("Resumed", "Plan", "HasSteps", "Shift", "HandOver", "ContinueAsNew", "Finish", "RolledBack", "Done"))
        + 4
    )

    # Then an execution hands over before its history can reach Step Functions' 25,000 events
    assert CHECKS_PER_EXECUTION * per_check + around < HISTORY_LIMIT, (per_check, around)
    # And the loop hands over at all: Decided continues in a new execution past its share of checks
    assert states["Decided"]["Choices"][0]["Next"] == "HandOver"
    assert states["ContinueAsNew"]["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "Name.$": "$.next_execution",
        "Input.$": "$",
    }
    assert ROLLOUT["StartAt"] == "Resumed" and states["Resumed"]["Choices"][0] == {
        "Variable": "$.continued_from",
        "IsPresent": True,
        "Next": "Bake",
    }


def test_the_api_gateway_logging_role_is_the_accounts_own_stack_and_outlives_every_stage(cloud_assembly, template):
    assert resources(template, "AWS::ApiGateway::Account") == {}
    shared = json.loads((cloud_assembly / "MlopsApiGatewayLogging.template.json").read_text())
    (account,) = resources(shared, "AWS::ApiGateway::Account").values()
    (role,) = resources(shared, "AWS::IAM::Role").values()
    assert account["DeletionPolicy"] == "Retain" and role["DeletionPolicy"] == "Retain"
    manifest = json.loads((cloud_assembly / "manifest.json").read_text())
    assert "MlopsApiGatewayLogging" in manifest["artifacts"][STACK_NAME]["dependencies"]


def test_no_request_validator_stands_unattached(template):
    # Bodies are validated by the functions against the OpenAPI schemas, naming the field at fault.
    assert resources(template, "AWS::ApiGateway::RequestValidator") == {}


def test_the_glue_table_projects_the_partitions_firehose_writes(template):
    (table,) = resources(template, "AWS::Glue::Table").values()
    (database,) = resources(template, "AWS::Glue::Database").values()
    assert table["Properties"]["DatabaseName"] == database["Properties"]["DatabaseInput"]["Name"] == "mlopsplatform_capture"
    described = table["Properties"]["TableInput"]
    assert [k["Name"] for k in described["PartitionKeys"]] == ["model", "hour"]
    parameters = described["Parameters"]
    assert parameters["projection.enabled"] == "true" and parameters["projection.model.type"] == "injected"
    # The template's location, with its partitions filled in, is where Firehose's prefix puts an hour of a model
    location = json.dumps(parameters["storage.location.template"])
    firehose_prefix = "captured/model=!{partitionKeyFromQuery:model}/!{timestamp:yyyy/MM/dd/HH}/"
    assert "/captured/model=${model}/${hour}/" in location
    assert (
        firehose_prefix.replace("!{partitionKeyFromQuery:model}", "${model}").replace("!{timestamp:yyyy/MM/dd/HH}", "${hour}") in location
    )
    assert parameters["projection.hour.format"] == "yyyy/MM/dd/HH"


def test_a_model_trained_elsewhere_skips_the_fits_and_meets_the_same_gate():
    compute = ASL["States"]["Compute"]
    assert compute["Choices"][0] == {"Variable": "$.trigger", "StringEquals": "import", "Next": "ImportModel"}
    assert ASL["States"]["ImportModel"]["Next"] == "Evaluate"


def _joined(resource) -> str:
    """An ARN the template builds with Fn::Join, with its pseudo parameters as placeholders."""
    if isinstance(resource, str):
        return resource
    if "Fn::Join" not in resource:
        return "<ref>"  # a whole resource's ARN (Fn::GetAtt)
    return "".join(part if isinstance(part, str) else "<ref>" for part in resource["Fn::Join"][1])


@pytest.mark.parametrize(
    ("role", "machine"), [("BatchBatchInferenceStateMachineRole", "BatchInference"), ("PipelineTrainingPipelineRole", "TrainingPipeline")]
)
def test_a_distributed_maps_role_watches_its_children_as_aws_documents_it(template, role, machine):
    from tests.infra.test_training_jobs_template import statements_of

    statements = statements_of(template, role)
    watching = [s for s in statements if "states:DescribeExecution" in s["Action"] and "states:StopExecution" in s["Action"]]
    resources_ = {_joined(r) for s in watching for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    # "IAM policies for using Distributed Map states": execution:<machine>:*; a map run's children: execution:<machine>/*
    assert any(r.endswith(f"execution:{STACK_NAME}-{machine}:*") for r in resources_), resources_
    assert any(r.endswith(f"execution:{STACK_NAME}-{machine}/*") for r in resources_), resources_


def test_the_batch_maps_result_writer_may_finish_and_abort_its_multipart_uploads(template):
    from tests.infra.test_training_jobs_template import statements_of

    statements = statements_of(template, "BatchBatchInferenceStateMachineRole")
    on_results = [
        s
        for s in statements
        if any(_joined(r).endswith("/batch-results/*") for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    ]
    actions = {a for s in on_results for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"} <= actions, actions


def test_the_api_is_named_per_stage_and_its_alarms_watch_that_name(template):
    # The ApiName dimension is the RestApi's name: with the construct id as the name, every stage
    # in an account would report as "RestApi" and each stage's alarms would count the others' calls
    ((_, api),) = resources(template, "AWS::ApiGateway::RestApi").items()
    assert api["Properties"]["Name"] == f"{STACK_NAME}-api"
    api_alarms = [a for a in resources(template, "AWS::CloudWatch::Alarm").values() if a["Properties"].get("Namespace") == "AWS/ApiGateway"]
    assert api_alarms
    for alarm in api_alarms:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        assert dimensions["ApiName"] == f"{STACK_NAME}-api"


def test_capture_lines_are_deaggregated_before_partitioning_and_error_objects_alarm(template):
    ((_, stream),) = resources(template, "AWS::KinesisFirehose::DeliveryStream").items()
    processors = [p["Type"] for p in stream["Properties"]["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]["Processors"]]
    # One CloudWatch Logs record can hold lines of several models: each line is split off before its key is read
    assert processors.index("CloudWatchLogProcessing") < processors.index("RecordDeAggregation") < processors.index("MetadataExtraction")
    (rule,) = [r for k, r in resources(template, "AWS::Events::Rule").items() if k.startswith("ServingCaptureErrorsWritten")]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "capture-errors/"}] and pattern["detail-type"] == ["Object Created"]
    (queue_id,) = [t["Arn"]["Fn::GetAtt"][0] for t in rule["Properties"]["Targets"]]
    depth = alarmed(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert any(a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == queue_id for a in depth), queue_id
