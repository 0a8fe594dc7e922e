"""API Gateway's IAM authorization (methods with AuthorizationType AWS_IAM), as local mode runs it.

A request must carry a SigV4 `Authorization` header, else 403 "Missing Authentication Token" as in
AWS. The signing key names the caller: a key of an IAM user created in the emulator (`aws iam
create-access-key`) is that user, whose attached and inline policies, and its groups', must allow
`execute-api:Invoke` on the method's ARN (else 403 naming user, action and resource, as AWS
answers); any other key (the emulator's default credentials) stands for the account's root, as
moto treats it. The signature itself is not verified (moto does not keep secrets to check against).
The caller reaches the function as `requestContext.identity` (userArn, user, accessKey), which the
audit trail records.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.deployer import policy_statements
from local.iam import ALLOW, EXPLICIT_DENY, Check, evaluate
from local.intrinsics import ACCOUNT_ID

SIGV4_CREDENTIAL = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([A-Za-z0-9]+)/")
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

    def authorize(self, headers: dict[str, str], method_arn: str) -> Caller:
        """The caller allowed to invoke `method_arn`, or Refused(403, AWS's message)."""
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        signed = SIGV4_CREDENTIAL.search(authorization)
        if signed is None:
            raise Refused(403, "Missing Authentication Token")
        caller = self._caller(signed.group(1))
        if caller.statements is not None:
            decision = evaluate(list(caller.statements), Check("execute-api:Invoke", method_arn))
            if decision != ALLOW:
                deny = " with an explicit deny" if decision == EXPLICIT_DENY else ""
                raise Refused(
                    403, f"User: {caller.user_arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}{deny}"
                )
        return caller

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
        iam = self._client("iam")
        try:
            user_name = iam.get_access_key_last_used(AccessKeyId=access_key)["UserName"]
        except Exception:  # noqa: BLE001 - not a key of a user made in the emulator: the default credentials
            return Caller(access_key, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID, None)
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
