"""API Gateway's IAM authorization as local mode runs it: the SigV4 signature is verified with the
key's secret (moto keeps users' secrets) and every failure is refused with AWS's 403, never taken as
the account's root. Requests are signed by botocore, as every AWS client signs them."""

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
    with pytest.raises(Refused, match="Missing Authentication Token"):
        authorize(auth, {"Host": HOST})
