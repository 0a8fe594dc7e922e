"""Notifications, scheduled checks, alarms and the platform dashboard."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.function_factory import METRICS_NAMESPACE, FunctionFactory
from infra.constructs.storage_construct import StorageConstruct
from mlops.data.spec import SCHEDULE_MINUTES
from mlops.shared import settings as env

# Each model's own interval (spec monitoring.check_every_minutes) is honoured at this granularity.
SCHEDULED_CHECKS_RATE = Duration.minutes(SCHEDULE_MINUTES)
API_P99_LATENCY_MS = 1000
# Firehose buffers capture for up to 60 s: anything 15 minutes old means deliveries are failing.
CAPTURE_LAG_ALARM_S = 900


class NotificationsConstruct(Construct):
    """The SNS topic every alarm and failed run notifies.

    Encrypted with its own key, not the AWS-managed alias/aws/sns: CloudWatch alarms cannot publish
    to a topic under the managed key (its policy cannot grant them), so notifications would be lost.
    """

    def __init__(self, scope: Construct, construct_id: str, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "TopicKey", description="MLOps platform: notifications", enable_key_rotation=True)
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "Topic", display_name="MLOps platform notifications", enforce_ssl=True, master_key=key)
        # A topic policy replaces SNS's default one, so the alarms of this account need their own
        # Allow (found by local mode's IAM: with the TLS-only Deny alone, no alarm could notify).
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))


class MonitoringConstruct(Construct):
    """The platform schedule, the platform's alarms (all notify the topic) and its dashboard.

    Built last, so it can alarm on every function's throttles and every dead-letter queue in the
    stack. Per-model alarms and dashboards are made at run time by the model checks and rollouts.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
        state_machines: dict[str, sfn.StateMachine],
        api: apigw.RestApi,
        entry_functions: list[lambda_.Function],
        capture_stream: firehose.DeliveryStream,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self._schedule_dead_letters = dead_letter_queue(self, "ScheduleDeadLetters")
        self.scheduled_checks = functions.zip_function(
            self,
            "ScheduledChecks",
            "handle_scheduled_checks",
            {env.ENV_MODELS_TABLE: storage.models_table.table_name, env.ENV_AUDIT_TABLE: storage.audit_table.table_name},
            f"EventBridge, asynchronously, on the platform schedule (one invocation every {SCHEDULED_CHECKS_RATE.to_minutes()} minutes)",
            dead_letters=self._schedule_dead_letters,
        )
        storage.models_table.grant_read_data(self.scheduled_checks)
        # Each model whose checks are due gets a ModelCheckDue event (ModelChecksConstruct).
        events.EventBus.from_event_bus_name(self, "DefaultBus", "default").grant_put_events_to(self.scheduled_checks)
        self.schedule_rule = self._build_schedule()
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm(
            "PipelineRunsFailed",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="PipelineRunsFailed",
                statistic="Sum",
                period=Duration.minutes(5),
                dimensions_map={"service": "RecordFailure"},
            ),
            "A training run failed (see GET /runs/{run} for the reason)",
        )
        for name, machine in state_machines.items():
            self._alarm(
                f"{name}ExecutionsFailed", machine.metric_failed(period=Duration.minutes(5), statistic="Sum"), f"{name}: failed executions"
            )
        self._capture_alarms(capture_stream)
        self._alarm("Api5xx", api.metric_server_error(period=Duration.minutes(5), statistic="Sum"), "The API answered 5xx")
        self._alarm(
            "ApiLatencyP99",
            api.metric_latency(period=Duration.minutes(5), statistic="p99"),
            f"The API's p99 latency is over {API_P99_LATENCY_MS} ms",
            threshold=API_P99_LATENCY_MS,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        for function in [*entry_functions, self.scheduled_checks]:
            self._alarm(
                f"{function.node.id}Errors",
                function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                f"{function.node.id} raised errors",
            )
        stack = Stack.of(self)
        for function in [n for n in stack.node.find_all() if isinstance(n, lambda_.Function)]:
            label = f"{function.node.scope.node.id}{function.node.id}"  # type: ignore[union-attr]
            self._alarm(
                f"{label}Throttles", function.metric_throttles(period=Duration.minutes(5), statistic="Sum"), f"{label} was throttled"
            )
        self.dead_letter_queues = [n for n in stack.node.find_all() if isinstance(n, sqs.Queue)]
        for queue in self.dead_letter_queues:
            label = f"{queue.node.scope.node.id}{queue.node.id}"  # type: ignore[union-attr]
            depth = queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum")
            self._alarm(f"{label}Depth", depth, f"Undelivered events wait in {label}")
        self.dashboard = self._build_dashboard(state_machines, api, entry_functions)

    def _capture_alarms(self, stream: firehose.DeliveryStream) -> None:
        """Capture is what drift checks, A/B tests and retraining read. When S3 refuses the stream's
        writes Firehose retries for 24 hours and then discards: the first refused attempt alarms,
        and so does capture that is CAPTURE_LAG_ALARM_S old and still not in the bucket."""
        self._alarm(
            "CaptureDeliveryFailing",
            stream.metric("DeliveryToS3.Success", statistic="Minimum", period=Duration.minutes(5)),
            "Firehose could not write captured traffic to the capture bucket; it retries for 24 hours, then discards",
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )
        self._alarm(
            "CaptureDeliveryLagging",
            stream.metric("DeliveryToS3.DataFreshness", statistic="Maximum", period=Duration.minutes(5)),
            f"Captured traffic older than {CAPTURE_LAG_ALARM_S} s is not yet in the capture bucket",
            threshold=CAPTURE_LAG_ALARM_S,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def _build_schedule(self) -> events.Rule:
        rule = events.Rule(
            self,
            "ScheduledChecksRule",
            description="Platform checks: models serving, and each model's drift and performance checks when due",
            schedule=events.Schedule.rate(SCHEDULED_CHECKS_RATE),
        )
        rule.add_target(
            targets.LambdaFunction(
                self.scheduled_checks,
                dead_letter_queue=self._schedule_dead_letters,
                retry_attempts=2,
            )
        )
        return rule

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        threshold: float = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self._topic))
        alarm.add_ok_action(cw_actions.SnsAction(self._topic))
        self.alarms.append(alarm)
        return alarm

    def _build_dashboard(
        self, state_machines: dict[str, sfn.StateMachine], api: apigw.RestApi, entry_functions: list[lambda_.Function]
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "PlatformDashboard", default_interval=Duration.hours(24))
        by_model = "SEARCH('{{{namespace},model,service}} MetricName=\"{metric}\"', '{statistic}', 3600)"
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="State machine executions (started, failed)",
                left=[m for machine in state_machines.values() for m in (machine.metric_started(), machine.metric_failed())],
            ),
            cloudwatch.GraphWidget(
                title="API: requests, 4xx, 5xx; p99 latency",
                left=[api.metric_count(), api.metric_client_error(), api.metric_server_error()],
                right=[api.metric_latency(statistic="p99")],
            ),
            cloudwatch.GraphWidget(
                title="Entry functions: errors",
                left=[function.metric_errors() for function in entry_functions],
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Drift verdicts by model (1 = drift)",
                left=[
                    cloudwatch.MathExpression(
                        expression=by_model.format(namespace=METRICS_NAMESPACE, metric="DataDrift", statistic="Maximum"), label=""
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                title="Performance decay by model (1 = decayed)",
                left=[
                    cloudwatch.MathExpression(
                        expression=by_model.format(namespace=METRICS_NAMESPACE, metric="PerformanceDecay", statistic="Maximum"), label=""
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues: waiting events",
                left=[q.metric_approximate_number_of_messages_visible() for q in self.dead_letter_queues],
            ),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
        return dashboard
