"""Local mode's IAM evaluation (local/iam.py): the evaluation logic and what each call asks for."""

import boto3
import pytest
from botocore.exceptions import ClientError

from local.iam import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Authorizer, Check, checks, evaluate, install

BUCKET = "arn:aws:s3:::data"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k1"


def test_an_allow_grants_a_deny_wins_and_nothing_listed_is_denied():
    statements = [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": [BUCKET, f"{BUCKET}/*"]},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET}/secret/*"},
    ]
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/datasets/a.csv")) == ALLOW
    assert evaluate(statements, Check("s3:getobject", f"{BUCKET}/datasets/a.csv")) == ALLOW  # actions ignore case
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/secret/a.csv")) == EXPLICIT_DENY
    assert evaluate(statements, Check("s3:PutObject", f"{BUCKET}/datasets/a.csv")) == IMPLICIT_DENY
    assert evaluate(statements, Check("s3:GetObject", "arn:aws:s3:::other/a.csv")) == IMPLICIT_DENY


def test_not_action_and_not_resource_invert_their_match():
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/private/*"}]
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/a")) == ALLOW
    assert evaluate(statements, Check("iam:CreateUser", "*")) == IMPLICIT_DENY
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/private/a")) == IMPLICIT_DENY


def test_conditions_use_the_request_context_and_fail_closed_when_the_key_is_missing():
    statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET, "Condition": {"StringLike": {"s3:prefix": ["batch/*"]}}}
    assert evaluate([statement], Check("s3:ListBucket", BUCKET, {"s3:prefix": "batch/m/"})) == ALLOW
    assert evaluate([statement], Check("s3:ListBucket", BUCKET, {"s3:prefix": "datasets/"})) == IMPLICIT_DENY
    assert evaluate([statement], Check("s3:ListBucket", BUCKET)) == IMPLICIT_DENY
    unknown = {**statement, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}}}
    with pytest.raises(NotImplementedError, match="DateGreaterThan"):
        evaluate([unknown], Check("s3:ListBucket", BUCKET))


def test_calls_ask_for_the_action_and_resource_the_service_authorization_reference_names():
    def ask(service, operation, params):
        return [(c.action, c.resource) for c in checks(service, operation, params, "us-east-1", "123456789012")]

    assert ask("s3", "HeadObject", {"Bucket": "data", "Key": "a"}) == [("s3:GetObject", f"{BUCKET}/a")]
    assert ask("s3", "GetObject", {"Bucket": "data", "Key": "a", "VersionId": "v"}) == [("s3:GetObjectVersion", f"{BUCKET}/a")]
    assert ask("s3", "ListObjectsV2", {"Bucket": "data", "Prefix": "x/"}) == [("s3:ListBucket", BUCKET)]
    assert ask("s3", "CopyObject", {"Bucket": "data", "Key": "q/a", "CopySource": {"Bucket": "data", "Key": "a", "VersionId": "v"}}) == [
        ("s3:PutObject", f"{BUCKET}/q/a"),
        ("s3:GetObjectVersion", f"{BUCKET}/a"),
    ]
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/models"
    assert ask("dynamodb", "Query", {"TableName": "models", "IndexName": "by-x"}) == [("dynamodb:Query", f"{table}/index/by-x")]
    assert ask(
        "dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "models"}}, {"Update": {"TableName": "audit"}}]}
    ) == [
        ("dynamodb:PutItem", table),
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/audit"),
    ]
    assert ask("lambda", "Invoke", {"FunctionName": "f"}) == [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:f")]
    assert ask("stepfunctions", "SendTaskSuccess", {"taskToken": "t"}) == [("states:SendTaskSuccess", "*")]
    alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
    assert ask("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a", "b"]}) == [
        ("cloudwatch:DescribeAlarms", alarm + "a"),
        ("cloudwatch:DescribeAlarms", alarm + "b"),
    ]


def _authorizer(statements):
    return Authorizer("arn:aws:sts::123456789012:assumed-role/r/fn", statements, {BUCKET: KEY}, "us-east-1", "123456789012", "function fn")


def test_an_encrypted_bucket_needs_the_key_too():
    may_read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    code, message = _authorizer([may_read]).denial("s3", "GetObject", {"Bucket": "data", "Key": "a"})
    assert code == "AccessDenied" and f"kms:Decrypt on resource: {KEY}" in message and "function fn" in message
    with_key = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}
    assert _authorizer([may_read, with_key]).denial("s3", "GetObject", {"Bucket": "data", "Key": "a"}) is None


def test_a_denied_call_raises_the_services_own_error_before_any_request_is_sent():
    # Given a client with the hooks of a role that may only read the runs table
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/runs"
    install(session.events, _authorizer([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}]))
    client = session.client("dynamodb", endpoint_url="http://127.0.0.1:9")  # nothing listens: a sent request would fail otherwise

    # When it writes, then Then botocore raises AccessDeniedException naming the action and resource
    with pytest.raises(ClientError) as denied:
        client.put_item(TableName="runs", Item={"run_id": {"S": "r"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:PutItem on resource: " + table in str(denied.value)


def test_an_eventbridge_entry_over_256_kb_fails_the_call_before_it_is_sent():
    from local import limits

    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    limits.install(session.events)
    events = session.client("events", endpoint_url="http://127.0.0.1:9")  # nothing listens
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[{"Source": "mlops.platform", "DetailType": "DriftDetected", "Detail": '{"x": "' + "y" * 300_000 + '"}'}])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "over the limit" in str(refused.value)
    assert limits.put_events_entry_size({"Source": "s", "DetailType": "d", "Detail": "{}", "Resources": ["r"]}) == 5


def test_entries_that_add_up_past_256_kb_fail_the_request_though_each_is_small():
    # EventBridge's limit is the PutEvents request's: ten entries of 30 KB are 300 KB
    from local import limits

    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    limits.install(session.events)
    events = session.client("events", endpoint_url="http://127.0.0.1:9")  # nothing listens
    entry = {"Source": "mlops.platform", "DetailType": "Finding", "Detail": '{"x": "' + "y" * 30_000 + '"}'}
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry] * 10)
    assert "over the limit" in str(refused.value) and "in 10 entries" in str(refused.value)


@pytest.mark.parametrize("operator", ["StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"])
def test_a_negated_condition_holds_when_the_request_lacks_its_key(operator):
    # IAM: a negated operator is true for a key absent from the request context; a positive one false
    statement = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Condition": {operator: {"aws:SourceVpce": "vpce-1"}}}
    assert evaluate([statement], Check("s3:GetObject", f"{BUCKET}/a")) == EXPLICIT_DENY
    assert evaluate([statement], Check("s3:GetObject", f"{BUCKET}/a", {"aws:SourceVpce": "vpce-1"})) == IMPLICIT_DENY
    positive = {**statement, "Condition": {operator.replace("Not", ""): {"aws:SourceVpce": "vpce-1"}}}
    assert evaluate([positive], Check("s3:GetObject", f"{BUCKET}/a")) == IMPLICIT_DENY


def test_batch_write_item_is_authorized_as_its_own_action_on_each_table():
    asked = [
        (c.action, c.resource)
        for c in checks(
            "dynamodb",
            "BatchWriteItem",
            {"RequestItems": {"runs": [{"PutRequest": {}}, {"DeleteRequest": {}}], "audit": [{"PutRequest": {}}]}},
            "us-east-1",
            "123456789012",
        )
    ]
    prefix = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    assert asked == [("dynamodb:BatchWriteItem", prefix + "runs"), ("dynamodb:BatchWriteItem", prefix + "audit")]
    only_put = {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"], "Resource": prefix + "runs"}
    assert evaluate([only_put], Check("dynamodb:BatchWriteItem", prefix + "runs")) == IMPLICIT_DENY


@pytest.mark.parametrize(
    ("failed", "total", "count", "percentage", "fails"),
    [
        (1, 10, 0, 0, True),  # no threshold: any failure fails the map run
        (0, 10, 0, 0, False),
        (3, 10, 5, 0, False),  # a count alone
        (6, 10, 5, 0, True),
        (3, 10, 0, 50, False),  # a percentage alone
        (6, 10, 0, 50, True),
        (6, 100, 5, 50, True),  # both: past either fails it (the count here, 6% being under 50%)
        (40, 50, 100, 50, True),  # both: the percentage, 40 being under the count
        (5, 100, 5, 50, False),
    ],
)
def test_a_distributed_map_fails_past_either_tolerated_threshold(failed, total, count, percentage, fails):
    from local.moto_patches import _exceeds_tolerance

    assert _exceeds_tolerance(failed, total, count, percentage) is fails


def test_resources_match_case_sensitively_while_actions_do_not():
    statements = [{"Effect": "Allow", "Action": "S3:GETOBJECT", "Resource": f"{BUCKET}/datasets/*"}]
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/datasets/a.csv")) == ALLOW
    assert evaluate(statements, Check("s3:GetObject", f"{BUCKET}/Datasets/a.csv")) == IMPLICIT_DENY
    assert evaluate(statements, Check("s3:GetObject", "arn:aws:s3:::DATA/datasets/a.csv")) == IMPLICIT_DENY


def test_for_all_values_needs_every_value_listed_and_for_any_value_one():
    def allowed(qualifier, tags):
        statement = {
            "Effect": "Allow",
            "Action": "sagemaker:AddTags",
            "Resource": "*",
            "Condition": {f"{qualifier}:StringEquals": {"aws:TagKeys": ["team", "run"]}},
        }
        return evaluate([statement], Check("sagemaker:AddTags", "*", {"aws:TagKeys": tags})) == ALLOW

    assert allowed("ForAllValues", ["team", "run"]) and not allowed("ForAllValues", ["team", "owner"])
    assert allowed("ForAnyValue", ["team", "owner"]) and not allowed("ForAnyValue", ["owner"])


def test_a_task_token_is_authorized_on_the_state_machine_that_issued_it_and_a_job_role_must_be_passable():
    from local.iam import task_token

    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:MlopsPlatform-TrainingPipeline"
    ((action, resource),) = [
        (c.action, c.resource)
        for c in checks("stepfunctions", "SendTaskSuccess", {"taskToken": task_token(machine, "u1")}, "us-east-1", "123456789012")
    ]
    assert (action, resource) == ("states:SendTaskSuccess", machine)
    job = checks(
        "sagemaker",
        "CreateTrainingJob",
        {"TrainingJobName": "mlops-1", "RoleArn": "arn:aws:iam::123456789012:role/JobRole"},
        "us-east-1",
        "123456789012",
    )
    assert [(c.action, c.resource, c.context) for c in job][1] == (
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/JobRole",
        {"iam:PassedToService": "sagemaker.amazonaws.com"},
    )
    may_create = {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": "*"}
    refused = Authorizer("arn:aws:sts::123456789012:assumed-role/r/sm", [may_create], {}, "us-east-1", "123456789012", "state machine sm")
    assert (
        "iam:PassRole"
        in refused.denial(
            "sagemaker", "CreateTrainingJob", {"TrainingJobName": "mlops-1", "RoleArn": "arn:aws:iam::123456789012:role/JobRole"}
        )[1]
    )


def test_an_asynchronous_request_over_1_mb_is_refused_and_a_synchronous_one_over_6_mb():
    from local import limits

    assert limits.request_too_large(1024 * 1024, asynchronous=True) is None
    assert limits.request_too_large(1024 * 1024 + 1, asynchronous=True)["errorType"] == "RequestEntityTooLargeException"
    assert limits.request_too_large(6 * 1024 * 1024, asynchronous=False) is None
    assert limits.request_too_large(6 * 1024 * 1024 + 1, asynchronous=False) is not None
    assert limits.response_too_large(6 * 1024 * 1024) is None and limits.response_too_large(6 * 1024 * 1024 + 1) is not None
    assert limits.request_too_large(2 * 1024 * 1024, asynchronous=True)["errorMessage"] == (
        "Request must be smaller than 1048576 bytes for an asynchronous (Event) invocation; this one is 2097152 bytes"
    )
    assert limits.response_too_large(7 * 1024 * 1024) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size (7340032 bytes) exceeded maximum allowed payload size (6291456 bytes).",
    }
    assert limits.out_of_memory("r1") == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: r1 Error: Runtime exited with error: signal: killed",
    }


def test_the_limits_are_the_numbers_aws_documents():
    # Step Functions quotas: 256 KiB of state input or output, 25,000 history events; EventBridge:
    # 256 KB a PutEvents request; Lambda: 6 MB synchronous, 1 MB asynchronous (the Invoke reference)
    from local import limits

    assert (limits.STATE_PAYLOAD_BYTES, limits.EXECUTION_HISTORY_EVENTS) == (262_144, 25_000)
    assert limits.EVENTBRIDGE_REQUEST_BYTES == 262_144
    assert (limits.LAMBDA_SYNC_PAYLOAD_BYTES, limits.LAMBDA_ASYNC_PAYLOAD_BYTES) == (6_291_456, 1_048_576)


def test_a_put_events_request_of_exactly_256_kb_passes_and_one_byte_more_fails():
    from local import limits

    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    limits.install(session.events)
    calls = []
    session.events.register("before-send.events.PutEvents", lambda request, **_: calls.append(request) or _accepted())
    events = session.client("events", endpoint_url="http://127.0.0.1:9")
    base = {"Source": "s", "DetailType": "d"}
    detail = "x" * (limits.EVENTBRIDGE_REQUEST_BYTES - 2)
    events.put_events(Entries=[{**base, "Detail": detail}])  # 1 + 1 + len(detail) bytes: exactly at the limit
    assert len(calls) == 1
    with pytest.raises(ClientError, match="over the limit"):
        events.put_events(Entries=[{**base, "Detail": detail + "x"}])
    assert len(calls) == 1


def _accepted():
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_):
            yield b'{"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}'

    return AWSResponse("http://127.0.0.1:9", 200, {}, Raw())


def test_an_entrys_size_counts_a_time_as_14_bytes_and_every_resource():
    from local import limits

    entry = {"Time": "2026-12-06T00:00:00Z", "Source": "ab", "DetailType": "c", "Detail": "{}", "Resources": ["r1", "r22"]}
    assert limits.put_events_entry_size(entry) == 14 + 2 + 1 + 2 + 2 + 3
    assert limits.put_events_entry_size({**entry, "Time": None}) == 2 + 1 + 2 + 2 + 3


def test_small_requests_pass_and_a_refused_put_events_is_a_400():
    from local import limits

    assert limits.response_too_large(100) is None and limits.request_too_large(100, asynchronous=False) is None
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    limits.install(session.events)
    sent = []
    session.events.register("before-send.events.PutEvents", lambda request, **_: sent.append(request) or _accepted())
    events = session.client("events", endpoint_url="http://127.0.0.1:9")
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert len(sent) == 1
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "x" * 300_000}])
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
