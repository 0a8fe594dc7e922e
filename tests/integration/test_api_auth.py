"""API Gateway's IAM authorization as local mode runs it: the SigV4 signature is verified with the
key's secret (moto keeps users' secrets) and every failure is refused with AWS's 403, never taken as
the account's root. Requests are signed by botocore, as every AWS client signs them."""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from local.api_auth import BAD_SIGNATURE, INVALID_TOKEN, ApiAuthorizer, Refused

HOST = "127.0.0.1:3000"
PATH = "/models/churn/promote?reason=now"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/POST/models/churn/promote"
BODY = b'{"reason": "ready"}'


def signed(key: str, secret: str, body: bytes = BODY, region: str = "us-east-1", service: str = "execute-api", at: datetime | None = None):
    request = AWSRequest(method="POST", url=f"http://{HOST}{PATH}", data=body, headers={"Content-Type": "application/json"})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at or datetime.now(UTC)):
        SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return {**dict(request.headers), "Host": HOST}


@pytest.fixture
def authorizer():
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="ana")
        key = iam.create_access_key(UserName="ana")["AccessKey"]
        iam.put_user_policy(
            UserName="ana",
            PolicyName="invoke",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}',
        )
        yield ApiAuthorizer(lambda service: boto3.client(service, region_name="us-east-1")), iam, key


def authorize(authorizer, headers, body=BODY):
    return authorizer.authorize("POST", PATH, headers, body, METHOD_ARN)


def test_a_users_key_signed_with_its_secret_is_that_user(authorizer):
    auth, _, key = authorizer
    caller = authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"]))
    assert caller.user_arn.endswith(":user/ana") and caller.statements


def test_the_emulators_own_key_is_the_root(authorizer):
    auth, _, _ = authorizer
    assert authorize(auth, signed("local", "local")).user_arn == "arn:aws:iam::123456789012:root"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong secret", BAD_SIGNATURE),
        ("body changed after signing", BAD_SIGNATURE),
        ("another region in the scope", "Credential should be scoped to a valid region"),
        ("another service in the scope", "Credential should be scoped to correct service: 'execute-api'"),
        ("a service before ours in the alphabet", "Credential should be scoped to correct service: 'execute-api'"),
        ("signed 16 minutes ago", "Signature expired"),
        ("a key nobody issued", INVALID_TOKEN),
        ("the root key with a wrong secret", BAD_SIGNATURE),
    ],
)
def test_what_api_gateway_refuses_is_refused_with_its_403(authorizer, case, message):
    auth, _, key = authorizer
    user, secret = key["AccessKeyId"], key["SecretAccessKey"]
    headers, body = {
        "wrong secret": (signed(user, "not-" + secret), BODY),
        "body changed after signing": (signed(user, secret), BODY.replace(b"ready", b"later")),
        "another region in the scope": (signed(user, secret, region="eu-west-1"), BODY),
        "another service in the scope": (signed(user, secret, service="lambda"), BODY),
        "a service before ours in the alphabet": (signed(user, secret, service="apigateway"), BODY),
        "signed 16 minutes ago": (signed(user, secret, at=datetime.now(UTC) - timedelta(minutes=16)), BODY),
        "a key nobody issued": (signed("AKIAIOSFODNN7EXAMPLE", "x"), BODY),
        "the root key with a wrong secret": (signed("local", "guess"), BODY),
    }[case]
    with pytest.raises(Refused) as refused:
        authorize(auth, headers, body)
    assert refused.value.status == 403 and message in refused.value.message


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
def test_a_key_deactivated_or_deleted_is_refused_not_taken_for_the_root(authorizer, change):
    auth, iam, key = authorizer
    headers = signed(key["AccessKeyId"], key["SecretAccessKey"])
    if change == "deactivated":
        iam.update_access_key(UserName="ana", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    else:
        iam.delete_access_key(UserName="ana", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(Refused) as refused:
        authorize(auth, headers)
    assert (refused.value.status, refused.value.message) == (403, INVALID_TOKEN)


def test_no_signature_is_a_missing_token(authorizer):
    auth, _, _ = authorizer
    with pytest.raises(Refused, match="Missing Authentication Token") as refused:
        authorize(auth, {"Host": HOST})
    assert refused.value.status == 403


def _user(iam, name, inline=None, managed=None, group=None):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": inline}))
    if managed:
        arn = iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": managed}))[
            "Policy"
        ]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if group:
        iam.create_group(GroupName=f"{name}-group")
        iam.put_group_policy(
            GroupName=f"{name}-group", PolicyName="g", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": group})
        )
        iam.add_user_to_group(GroupName=f"{name}-group", UserName=name)
    return key


ALLOW_ALL = [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]
DENY_PROMOTE = [{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/POST/models/*/promote"}]


def test_a_users_managed_inline_and_group_policies_all_count_and_a_deny_says_so(authorizer):
    auth, iam, _ = authorizer
    managed = _user(iam, "bo", managed=ALLOW_ALL)
    assert authorize(auth, signed(managed["AccessKeyId"], managed["SecretAccessKey"])).user_arn.endswith(":user/bo")
    grouped = _user(iam, "cy", group=ALLOW_ALL)
    assert authorize(auth, signed(grouped["AccessKeyId"], grouped["SecretAccessKey"])).user_arn.endswith(":user/cy")
    denied = _user(iam, "di", managed=ALLOW_ALL, inline=DENY_PROMOTE)
    with pytest.raises(Refused) as refused:
        authorize(auth, signed(denied["AccessKeyId"], denied["SecretAccessKey"]))
    assert refused.value.status == 403 and refused.value.message.endswith(f"on resource: {METHOD_ARN} with an explicit deny")
    nothing = _user(iam, "ed")
    with pytest.raises(Refused) as refused:
        authorize(auth, signed(nothing["AccessKeyId"], nothing["SecretAccessKey"]))
    assert (refused.value.status, refused.value.message) == (
        403,
        f"User: arn:aws:iam::123456789012:user/ed is not authorized to perform: execute-api:Invoke on resource: {METHOD_ARN}",
    )


def test_a_region_after_ours_in_the_alphabet_is_refused_too(authorizer):
    auth, _, key = authorizer
    with pytest.raises(Refused, match="scoped to a valid region"):
        authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"], region="us-west-2"))


@pytest.mark.parametrize("days", [-1, 1])
def test_a_scope_date_other_than_the_signing_day_is_refused(authorizer, days):
    auth, _, key = authorizer
    headers = signed(key["AccessKeyId"], key["SecretAccessKey"])
    scope_day = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y%m%d")
    headers["Authorization"] = headers["Authorization"].replace(headers["X-Amz-Date"][:8], scope_day, 1)
    with pytest.raises(Refused, match="Date in Credential scope does not match") as refused:
        authorize(auth, headers)
    assert refused.value.status == 403


def test_a_request_without_its_signing_time_is_refused(authorizer):
    auth, _, key = authorizer
    headers = {k: v for k, v in signed(key["AccessKeyId"], key["SecretAccessKey"]).items() if k != "X-Amz-Date"}
    with pytest.raises(Refused, match="X-Amz-Date") as refused:
        authorize(auth, headers)
    assert refused.value.status == 403


def test_a_request_signed_14_minutes_ago_is_still_in_time(authorizer):
    auth, _, key = authorizer
    assert authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"], at=datetime.now(UTC) - timedelta(minutes=14)))


def test_a_changed_policy_applies_after_two_seconds_not_before(authorizer, monkeypatch):
    import local.api_auth as api_auth

    auth, iam, _ = authorizer
    key = _user(iam, "fay", inline=ALLOW_ALL)
    clock = [1000.0]
    monkeypatch.setattr(api_auth.time, "monotonic", lambda: clock[0])
    assert authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"]))
    iam.delete_user_policy(UserName="fay", PolicyName="inline")
    clock[0] += 1.5
    assert authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"]))  # IAM is eventually consistent
    clock[0] += 0.5  # exactly two seconds after the policy was read: read again
    with pytest.raises(Refused, match="not authorized"):
        authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"]))


def test_an_expired_signature_names_the_time_it_fell_before(authorizer):
    auth, _, key = authorizer
    with pytest.raises(Refused) as refused:
        authorize(auth, signed(key["AccessKeyId"], key["SecretAccessKey"], at=datetime.now(UTC) - timedelta(minutes=20)))
    cutoff = datetime.strptime(refused.value.message.split("is now earlier than ")[1][:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=14) < datetime.now(UTC) - cutoff < timedelta(minutes=16)


def test_a_caller_cannot_be_changed_once_authorized(authorizer):
    import dataclasses

    auth, _, _ = authorizer
    caller = authorize(auth, signed("local", "local"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.user_arn = "arn:aws:iam::123456789012:user/someone-else"
