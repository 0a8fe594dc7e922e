"""API Gateway's IAM authorization (methods with AuthorizationType AWS_IAM), as local mode runs it.

A request must carry a SigV4 `Authorization` header, else 403 "Missing Authentication Token" as in
AWS, and its signature is verified as API Gateway verifies it, each failure answered with AWS's 403:
the credential scope's region and service (`execute-api`), a signing time within 15 minutes, the
key (an inactive or deleted one is refused) and the signature over the method, path, query, signed
headers and body, computed with the key's secret. A key of an IAM user created in the emulator
(`aws iam create-access-key`) is that user, whose secret moto keeps, and whose attached and inline
policies, and its groups', must allow `execute-api:Invoke` on the method's ARN (else 403 naming user,
action and resource). The account's root signs with the emulator's own keys: `local` (local mode's,
which `mlops` and the console use) or `testing` (moto's default test credentials), each its own
secret. The caller reaches the function as `requestContext.identity` (userArn, user, accessKey),
which the audit trail records.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local.deployer import policy_statements
from local.iam import ALLOW, EXPLICIT_DENY, Check, evaluate
from local.intrinsics import ACCOUNT_ID, REGION

SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
SERVICE = "execute-api"
MAX_SKEW = timedelta(minutes=15)
# The account's root: local mode's own key and moto's default test credentials, with their secrets.
ROOT_KEYS = {"local": "local", "testing": "testing"}
INVALID_TOKEN = "The security token included in the request is invalid."
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key"
    " and signing method. Consult the service documentation for details."
)
POLICY_CACHE_S = 2.0  # IAM is eventually consistent in AWS too; a changed policy applies within seconds


@dataclass(frozen=True)
class Caller:
    access_key: str
    user_arn: str
    user_id: str
    statements: tuple[dict[str, Any], ...] | None  # None: the account's root, allowed everything

    def identity(self) -> dict[str, str]:
        return {"accessKey": self.access_key, "userArn": self.user_arn, "user": self.user_id, "caller": self.user_id}


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ApiAuthorizer:
    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._client = clients
        self._callers: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def authorize(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, method_arn: str) -> Caller:
        """The caller allowed to invoke `method_arn`, or Refused(403, AWS's message)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        signed = SIGV4.search(lowered.get("authorization", ""))
        if signed is None:
            raise Refused(403, "Missing Authentication Token")
        if signed["region"] != REGION:
            raise Refused(403, f"Credential should be scoped to a valid region, not '{signed['region']}'. ")
        if signed["service"] != SERVICE:
            raise Refused(403, f"Credential should be scoped to correct service: '{SERVICE}'. ")
        _check_time(lowered.get("x-amz-date", ""), signed["date"])
        secret = self._secret(signed["key"])
        if not hmac.compare_digest(signature(method, raw_path, lowered, body, signed, secret), signed["signature"]):
            raise Refused(403, BAD_SIGNATURE)
        caller = self._caller(signed["key"])
        if caller.statements is not None:
            decision = evaluate(list(caller.statements), Check("execute-api:Invoke", method_arn))
            if decision != ALLOW:  # pragma: no mutate - decisions are the module's three constants: is/>/!= agree
                deny = " with an explicit deny" if decision == EXPLICIT_DENY else ""  # pragma: no mutate - as above
                raise Refused(
                    403, f"User: {caller.user_arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}{deny}"
                )
        return caller

    def _secret(self, access_key: str) -> str:
        """The key's secret: an active key of an emulator user's (moto keeps them), or a root key's."""
        for key in _emulator_keys():
            if key.access_key_id == access_key:
                if key.status != "Active":
                    raise Refused(403, INVALID_TOKEN)
                return str(key.secret_access_key)
        if access_key in ROOT_KEYS:
            return ROOT_KEYS[access_key]
        raise Refused(403, INVALID_TOKEN)  # a deleted key, or one the emulator never issued

    def _caller(self, access_key: str) -> Caller:
        with self._lock:
            cached = self._callers.get(access_key)
            if cached and time.monotonic() - cached[0] < POLICY_CACHE_S:
                return cached[1]
        caller = self._look_up(access_key)
        with self._lock:
            self._callers[access_key] = (time.monotonic(), caller)
        return caller

    def _look_up(self, access_key: str) -> Caller:
        if access_key in ROOT_KEYS:
            return Caller(access_key, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID, None)
        iam = self._client("iam")
        user_name = iam.get_access_key_last_used(AccessKeyId=access_key)["UserName"]  # an error is a 500, never root
        user = iam.get_user(UserName=user_name)["User"]
        statements = self._user_statements(iam, user_name)
        for group in iam.list_groups_for_user(UserName=user_name)["Groups"]:
            statements += self._group_statements(iam, group["GroupName"])
        return Caller(access_key, user["Arn"], user["UserId"], tuple(statements))

    def _user_statements(self, iam: Any, user: str) -> list[dict[str, Any]]:
        attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        inline = [
            iam.get_user_policy(UserName=user, PolicyName=n)["PolicyDocument"] for n in iam.list_user_policies(UserName=user)["PolicyNames"]
        ]
        return self._managed(iam, attached) + [s for d in inline for s in policy_statements(d)]

    def _group_statements(self, iam: Any, group: str) -> list[dict[str, Any]]:
        attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
        inline = [
            iam.get_group_policy(GroupName=group, PolicyName=n)["PolicyDocument"]
            for n in iam.list_group_policies(GroupName=group)["PolicyNames"]
        ]
        return self._managed(iam, attached) + [s for d in inline for s in policy_statements(d)]

    @staticmethod
    def _managed(iam: Any, attached: list[dict[str, Any]]) -> list[dict[str, Any]]:
        statements: list[dict[str, Any]] = []
        for policy in attached:
            version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
            statements += policy_statements(
                iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
            )
        return statements


def _emulator_keys() -> list[Any]:
    """Every access key of every IAM user in the emulator, secrets included (moto's own records:
    tests/integration/test_moto_canaries.py fails loudly if an upgrade moves them)."""
    from moto.backends import get_backend

    return list(get_backend("iam")[ACCOUNT_ID]["global"].get_all_access_keys_for_all_users())


def _check_time(amz_date: str, scope_date: str) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(403, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.") from None
    if signed_at.strftime("%Y%m%d") != scope_date:
        raise Refused(403, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP")
    now = datetime.now(UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise Refused(
            403, f"Signature expired: {amz_date} is now earlier than {(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
        )


def signature(method: str, raw_path: str, headers: dict[str, str], body: bytes, signed: re.Match[str], secret: str) -> str:
    """The SigV4 signature of the request as received, by botocore's own signer (the one clients use),
    over exactly the headers the client signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    names = signed["headers"].split(";")
    host = headers.get("host", "")
    request = AWSRequest(method=method, url=f"http://{host}{raw_path}", data=body, headers={n: headers.get(n, "") for n in names})
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(signed["key"], secret), signed["service"], signed["region"])
    return str(signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request))
