"""Canaries for what local mode relies on in moto. Each fails loudly when an upgrade changes it."""

import inspect
import json

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.utils import boto_client

from local import moto_patches


def test_moto_is_the_pinned_version():
    assert moto.__version__ == moto_patches.PINNED_MOTO_VERSION


def test_the_lambda_invoke_seam_is_where_the_patch_expects_it():
    # local/moto_patches.py replaces _invoke_lambda(self, event) and relies on invoke() calling it.
    assert list(inspect.signature(moto_patches._original_invoke_lambda).parameters) == ["self", "event"]
    assert "self._invoke_lambda(event=body)" in inspect.getsource(LambdaFunction.invoke)
    assert "save_logs" in dir(LambdaFunction)


def test_distributed_map_still_ignores_its_tolerated_failure_threshold():
    # local/moto_patches.py wraps _map_run(self, env, eval_input) to fail the map run as AWS does.
    # When moto evaluates the threshold itself, this fails and the patch can go.
    component = moto_patches.DistributedIterationComponent
    assert list(inspect.signature(moto_patches._original_map_run).parameters) == ["self", "env", "eval_input"]
    assert "tolerated_failure" not in inspect.getsource(component._map_run) + inspect.getsource(component._eval_body)


def test_step_functions_calls_lambda_on_moto_port():
    # Local mode sets MOTO_PORT so the engine's lambda:invoke reaches the local server.
    assert "moto_server_port()" in inspect.getsource(boto_client.boto_client_for)


def test_s3_sends_object_created_to_eventbridge_rules_with_sqs_targets():
    with mock_aws():
        s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
        s3.create_bucket(Bucket="canary-bucket")
        s3.put_bucket_notification_configuration(Bucket="canary-bucket", NotificationConfiguration={"EventBridgeConfiguration": {}})
        url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # moto also emits "Object Tags Added" on every put; the platform's rule matches the type too.
        pattern = {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"object": {"key": [{"prefix": "datasets/"}]}},
        }
        events.put_rule(Name="r", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="r", Targets=[{"Id": "tap", "Arn": arn}])
        s3.put_object(Bucket="canary-bucket", Key="datasets/m/x.csv", Body=b"a\n1\n")
        s3.put_object(Bucket="canary-bucket", Key="elsewhere/x.csv", Body=b"a\n1\n")
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in messages] == ["datasets/m/x.csv"]


def test_put_events_still_cannot_deliver_to_lambda_targets():
    # The reason rules get SQS taps: if moto learns to deliver to Lambda, local mode can simplify.
    with mock_aws():
        events = boto3.client("events")
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}])
        with pytest.raises(NotImplementedError):
            events.put_events(Entries=[{"Source": "x", "DetailType": "d", "Detail": "{}"}])


def test_every_engine_service_call_goes_through_the_client_factory_local_mode_wraps():
    # local/moto_patches.py gives each client boto_client_for makes the calling state machine's
    # IAM hooks; it finds the machine as the `env` (an Environment) of a calling frame.
    moto_patches._import_engine()
    modules = moto_patches._engine_modules_with_client_factory()
    names = {m.__name__.rsplit(".", 1)[-1] for m in modules}
    assert {"lambda_eval_utils", "state_task_service_aws_sdk", "resource_eval_s3"} <= names
    assert list(inspect.signature(moto_patches._original_boto_client_for).parameters) == ["region", "service", "state_credentials"]
    for module in (m for m in modules if m is not boto_client):
        for line in inspect.getsource(module).splitlines():
            assert "boto3.client(" not in line, f"{module.__name__} makes a client of its own"
    assert "StateMachine" in inspect.getsource(moto_patches.Environment)


def test_the_dynamodb_write_seams_local_mode_serializes_are_still_there():
    from moto.dynamodb.models import DynamoDBBackend

    from local.moto_patches import DYNAMODB_WRITES

    assert all(callable(getattr(DynamoDBBackend, name, None)) for name in DYNAMODB_WRITES)


def test_an_inline_maps_iteration_error_is_still_rebuilt_as_a_custom_name():
    # local/moto_patches.py replaces iteration_worker.CustomErrorName so a States.* error (a failed
    # job's States.TaskFailed) fails the Map catchably. When moto keeps States errors, it can go.
    source = inspect.getsource(moto_patches.iteration_worker.IterationWorker)
    assert "error_name = CustomErrorName(error_name=error_name)" in source


def test_the_sagemaker_seams_local_mode_runs_jobs_through_are_still_there():
    # local/training_jobs.py: moto's engine has no SageMaker integration (it picks a service task by
    # name in state_task_factory), and moto completes a job at once without running anything.
    from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    assert "state_task_service_for(service_name=resource.service_name)" in inspect.getsource(state_task_factory)
    assert 'self.training_job_status = "Completed"' in inspect.getsource(FakeTrainingJob.__init__)
    assert "self.training_jobs[training_job_name] = training_job" in inspect.getsource(SageMakerModelBackend.create_training_job)
    # The .sync base interrupts a task-token endpoint it only makes for .waitForTaskToken services.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback

    assert "callback_endpoint.interrupt_all()" in inspect.getsource(state_task_service_callback.StateTaskServiceCallback)


def test_moto_keeps_each_users_secret_where_the_api_authorizer_reads_it():
    # local/api_auth.py verifies SigV4 signatures with the secrets moto keeps for the keys it issues.
    from local.api_auth import _emulator_keys

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="u")
        issued = iam.create_access_key(UserName="u")["AccessKey"]
        (kept,) = _emulator_keys()
        assert (kept.access_key_id, kept.secret_access_key, kept.status) == (issued["AccessKeyId"], issued["SecretAccessKey"], "Active")
