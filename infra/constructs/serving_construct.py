"""The REST API: API Gateway (IAM-authorized, throttled, access-logged) in front of two Lambdas.

POST /models/{model}/predict and /feedback go to the data-plane function (handle_predict: lean,
SnapStart, through its `live` alias, its own reserved concurrency); every other method and path
goes to the control-plane API function (handle_api). Both write capture lines to their logs, and
a subscription per log group hands those lines to the capture stream.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, Size, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as logs_destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.function_factory import FunctionFactory, log_group
from infra.constructs.pipeline_construct import PipelineConstruct
from infra.constructs.storage_construct import StorageConstruct
from infra.nag import acknowledge, acknowledge_objects
from mlops.shared import settings as env

# With dynamic partitioning the error prefix must name the error type.
CAPTURE_ERRORS_PREFIX = "capture-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
# Unzip the CloudWatch Logs batches, keep each message, split the messages into one record each, read
# each one's partition key, end it with a newline. One CloudWatch Logs record carries the log events of
# one invocation batch, which can be lines of several models; Firehose applies dynamic partitioning
# only to deaggregated records ("Apply dynamic partitioning to aggregated data"), so the JSON
# deaggregation makes each line its own record and each model's lines land under its own prefix
# (at most 500 lines a record, Firehose's cap: a data-plane request captures one line).
CAPTURE_PROCESSORS = [
    {"Type": "Decompression", "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}]},
    {"Type": "CloudWatchLogProcessing", "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}]},
    {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType", "ParameterValue": "JSON"}]},
    {
        "Type": "MetadataExtraction",
        "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": f"{{{env.CAPTURE_PARTITION}: .{env.CAPTURE_PARTITION}}}"},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
        ],
    },
    {"Type": "AppendDelimiterToRecord", "Parameters": []},
]

STAGE_NAME = "api"
THROTTLE_RATE_PER_SECOND = 500
THROTTLE_BURST = 1000
THROTTLE = f"throttled by the stage to {THROTTLE_RATE_PER_SECOND} requests/s with bursts of {THROTTLE_BURST}"


class ServingConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        pipeline: PipelineConstruct,
        batch: sfn.StateMachine,
        serving_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.capture_stream = self._build_capture_stream(storage)
        self.capture_errors = self._watch_capture_errors(storage)
        self.api_function = self._build_api_function(storage, functions, pipeline)
        functions.add_environment(self.api_function, env.ENV_BATCH_INFERENCE_ARN, batch.state_machine_arn)
        batch.grant_start_execution(self.api_function)
        self.predict_function, self.predict_alias = self._build_predict_function(storage, functions, serving_concurrency)
        self.api = self._build_api()
        self._route_data_plane()

    def _build_predict_function(
        self, storage: StorageConstruct, functions: FunctionFactory, concurrency: int | None
    ) -> tuple[lambda_.Function, lambda_.Alias]:
        """The data plane: only the serving layer (onnxruntime, numpy) and the runtime's boto3."""
        function = functions.zip_function(
            self,
            env.PREDICT_SERVICE,
            "handle_predict",
            {env.ENV_MODELS_TABLE: storage.models_table.table_name},
            f"API Gateway, synchronously through the live alias (the client gets any error), {THROTTLE}",
            layers=("serving",),
            memory_mb=1024,
            timeout=Duration.seconds(30),
            snap_start=True,
            reserved_concurrency=concurrency,
        )
        # GetItem for routing, versions and specs, Scan at init for the champions to load, and the
        # table key's Decrypt (local mode's IAM check caught a bare GetItem/Scan grant missing it).
        storage.models_table.grant_read_data(function)
        storage.artifacts_bucket.grant_read(function, f"{env.MODELS_PREFIX}*")
        acknowledge_objects(function, storage.artifacts_bucket, f"{env.MODELS_PREFIX}*", "Loads any model version's ONNX artifact.")
        self._subscribe_capture(function, "PredictCaptureSubscription")
        # SnapStart snapshots a published version; API Gateway invokes it through this alias.
        alias = lambda_.Alias(self, "PredictLive", alias_name="live", version=function.current_version)
        return function, alias

    def _route_data_plane(self) -> None:
        """Explicit resources for the two data-plane methods. API Gateway picks the most specific
        resource first and then its method, so each explicit resource also gets ANY -> control plane
        (other methods answer 405 there) and /models/{model} keeps a greedy proxy of its own."""
        control = apigw.LambdaIntegration(self.api_function)
        data = apigw.LambdaIntegration(self.predict_alias)
        models = self.api.root.add_resource("models")
        models.add_method("ANY", control)
        model = models.add_resource("{model}")
        model.add_method("ANY", control)
        model.add_proxy(default_integration=control, any_method=True)
        for action in ("predict", "feedback"):
            resource = model.add_resource(action)
            resource.add_method("POST", data)
            resource.add_method("ANY", control)

    def _build_api_function(self, storage: StorageConstruct, functions: FunctionFactory, pipeline: PipelineConstruct) -> lambda_.Function:
        function = functions.zip_function(
            self,
            env.API_SERVICE,
            "handle_api",
            {
                env.ENV_RUNS_TABLE: storage.runs_table.table_name,
                env.ENV_MODELS_TABLE: storage.models_table.table_name,
                env.ENV_AUDIT_TABLE: storage.audit_table.table_name,
                env.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name,
                env.ENV_CAPTURE_BUCKET: storage.capture_bucket.bucket_name,
                env.ENV_DATA_BUCKET: storage.data_bucket.bucket_name,
                env.ENV_TRAINING_PIPELINE_ARN: pipeline.state_machine.state_machine_arn,
            },
            f"API Gateway, synchronously (the client gets any error), {THROTTLE}",
            layers=("common", "serving"),
            memory_mb=1024,
        )
        storage.runs_table.grant_read_data(function)
        storage.models_table.grant_read_write_data(function)
        storage.audit_table.grant_read_write_data(function)
        storage.artifacts_bucket.grant_read(function)
        # POST /models/{model}/draft samples an uploaded file.
        storage.data_bucket.grant_read(function, f"{env.DATASETS_PREFIX}*")
        acknowledge_objects(function, storage.data_bucket, f"{env.DATASETS_PREFIX}*", "Drafts a spec from an uploaded file.")
        pipeline.grant_start_run(function)
        pipeline.state_machine.grant_task_response(function)  # approve / reject answer the pipeline's task token
        # POST /models/{model}/checks sends the ModelCheckDue event the platform schedule sends.
        events.EventBus.from_event_bus_name(self, "DefaultBus", "default").grant_put_events_to(function)
        self._subscribe_capture(function, "CaptureSubscription")
        return function

    def _build_capture_stream(self, storage: StorageConstruct) -> firehose.DeliveryStream:
        """Predictions and feedback as JSON lines into the capture bucket, buffered by Firehose.

        Its input is the API Lambda's capture log lines (see mlops.serving.capture): Firehose unzips the
        CloudWatch Logs batches, keeps each message, reads its `model` (dynamic partitioning, so each
        model's traffic lands under its own prefix) and ends it with a newline.
        """
        stream = firehose.DeliveryStream(
            self,
            "CaptureStream",
            destination=firehose.S3Bucket(
                storage.capture_bucket,
                data_output_prefix=env.CAPTURE_PREFIX,  # partitioned below
                error_output_prefix=CAPTURE_ERRORS_PREFIX,
                buffering_interval=Duration.seconds(60),
                buffering_size=Size.mebibytes(64),  # the least dynamic partitioning accepts
                logging_config=firehose.EnableLogging(log_group(self, "CaptureStreamLogs")),
                processors=[
                    firehose.DecompressionProcessor(),
                    firehose.CloudWatchLogProcessor(data_message_extraction=True),
                    firehose.AppendDelimiterToRecordProcessor(),
                ],
            ),
            encryption=firehose.StreamEncryption.aws_owned_key(),
        )
        # CDK's S3 destination has no dynamic partitioning yet (and refuses a partitioned prefix without it):
        # the switch, the processors and the prefix are set on the resource.
        resource = stream.node.default_child
        assert isinstance(resource, CfnResource)
        destination = "ExtendedS3DestinationConfiguration"
        resource.add_property_override(
            f"{destination}.DynamicPartitioningConfiguration", {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}}
        )
        resource.add_property_override(f"{destination}.ProcessingConfiguration.Processors", CAPTURE_PROCESSORS)
        resource.add_property_override(f"{destination}.Prefix", env.CAPTURE_PREFIX_EXPRESSION)
        acknowledge(
            Stack.of(self),
            "CloudFormation-Validate::W7001",
            "CDK's Firehose construct maps regional CIDR blocks for Redshift/Splunk destinations; this S3 one never reads them.",
        )
        return stream

    def _watch_capture_errors(self, storage: StorageConstruct) -> sqs.Queue:
        """Every object Firehose writes under capture-errors/ (lines it could not partition) is noticed
        in a queue; the platform alarms on any queue that holds messages (MonitoringConstruct)."""
        queue = dead_letter_queue(self, "CaptureErrorObjects")
        rule = events.Rule(
            self,
            "CaptureErrorsWritten",
            description="Firehose wrote captured lines it could not partition under capture-errors/",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [storage.capture_bucket.bucket_name]}, "object": {"key": [{"prefix": "capture-errors/"}]}},
            ),
        )
        rule.add_target(targets.SqsQueue(queue, dead_letter_queue=queue))
        return queue

    def _subscribe_capture(self, function: lambda_.Function, construct_id: str) -> None:
        """Only the capture lines of the function's log group go to Firehose (not other logs or EMF)."""
        logs.SubscriptionFilter(
            self,
            construct_id,
            log_group=function.log_group,
            destination=logs_destinations.FirehoseDestination(self.capture_stream),
            filter_pattern=logs.FilterPattern.number_value("$.capture_schema", "=", env.CAPTURE_SCHEMA),
        )

    def _build_api(self) -> apigw.LambdaRestApi:
        access_logs = log_group(self, "ApiAccessLogs")
        api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=self.api_function,
            proxy=False,  # the greedy proxy is added below, beside the data plane's explicit resources
            description="Serverless MLOps platform API",
            # Its name is the ApiName dimension of the API's metrics and alarms: one per stage, or two
            # stages in one account would mix their figures (the default name is the construct id).
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            cloud_watch_role=False,  # the account's logging role is ApiGatewayLoggingStack's, shared by every stage
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        api.root.add_method("ANY")
        api.root.add_proxy(any_method=True)
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "Each function checks its requests against the OpenAPI document's schemas and answers 400 naming the field at"
            " fault (fuzzed by tests/integration/test_openapi_conformance.py); API Gateway's validator would answer a bare"
            " 'Invalid request body' and need every schema twice.",
        )
        acknowledge(api, "AwsSolutions-COG4", "Callers authenticate with IAM (SigV4), not Cognito user pools.")
        acknowledge(api, "AwsSolutions-APIG3", "WAF is an account-level choice; attach a web ACL to the stage at deploy.")
        return api
