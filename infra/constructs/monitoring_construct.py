"""Notifications, scheduled checks, alarms and the platform dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.function_factory import METRICS_NAMESPACE, FunctionFactory
from infra.constructs.storage_construct import StorageConstruct
from mlops import settings as env

SCHEDULED_CHECKS_RATE = Duration.hours(1)


class NotificationsConstruct(Construct):
    """The SNS topic every alarm and failed run notifies."""

    def __init__(self, scope: Construct, construct_id: str, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="MLOps platform notifications",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))


class MonitoringConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        storage: StorageConstruct,
        functions: FunctionFactory,
        topic: sns.ITopic,
        pipeline: sfn.StateMachine,
        api_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self.scheduled_checks = functions.zip_function(
            self, "ScheduledChecks", "handle_scheduled_checks", {env.ENV_MODELS_TABLE: storage.models_table.table_name}
        )
        storage.models_table.grant_read_data(self.scheduled_checks)
        self.schedule_rule = self._build_schedule()
        self.pipeline_failures_alarm = self._alarm(
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
        self.pipeline_executions_alarm = self._alarm(
            "PipelineExecutionsFailed",
            pipeline.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            "The training pipeline state machine had failed executions",
        )
        self.api_errors_alarm = self._alarm(
            "ApiFunctionErrors",
            api_function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            "The API Lambda raised unhandled errors",
        )
        self.dashboard = self._build_dashboard(pipeline, api_function)

    def _build_schedule(self) -> events.Rule:
        rule = events.Rule(
            self,
            "ScheduledChecksRule",
            description="Periodic platform checks (models serving; drift and performance checks join here)",
            schedule=events.Schedule.rate(SCHEDULED_CHECKS_RATE),
        )
        rule.add_target(
            targets.LambdaFunction(
                self.scheduled_checks,
                dead_letter_queue=dead_letter_queue(self, "ScheduleDeadLetters"),
                retry_attempts=2,
            )
        )
        return rule

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self._topic))
        alarm.add_ok_action(cw_actions.SnsAction(self._topic))
        return alarm

    def _build_dashboard(self, pipeline: sfn.StateMachine, api_function: lambda_.IFunction) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "PlatformDashboard", default_interval=Duration.hours(24))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Training pipeline executions",
                left=[pipeline.metric_started(), pipeline.metric_succeeded(), pipeline.metric_failed()],
            ),
            cloudwatch.GraphWidget(
                title="API Lambda",
                left=[api_function.metric_invocations(), api_function.metric_errors()],
                right=[api_function.metric_duration(statistic="p99")],
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.pipeline_failures_alarm, self.pipeline_executions_alarm, self.api_errors_alarm],
            ),
        )
        return dashboard
