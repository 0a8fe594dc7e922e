"""Which stack the CLI talks to, and how: local mode by default, a deployed stage when asked.

A deployed stack is found as any AWS client finds it: the stage's stack name, the standard
credential chain (environment, `--profile`, SSO, an instance or task role) and its region. Its
outputs (`ApiUrl`, `DataBucketName`, ...) come from CloudFormation, so nothing is configured by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlops_cli.errors import UserError

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_REGION = "us-east-1"
LOCAL_STACK = "MlopsPlatform"
# Local mode takes any key; these stand for the account's root when the chain has none.
LOCAL_KEY = "local"


def stack_name_for(stage: str | None) -> str:
    """The stack cdk.json names for a stage: MlopsPlatform for dev (and local mode), else MlopsPlatform-<stage>."""
    return LOCAL_STACK if stage in (None, "", "dev") else f"{LOCAL_STACK}-{stage}"


@dataclass
class Target:
    """A stack to talk to. `endpoint_url` is set for local mode (the emulator), None for AWS."""

    stack_name: str
    endpoint_url: str | None = LOCAL_ENDPOINT
    profile: str | None = None
    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def choose(cls, stage: str | None, profile: str | None, region: str | None, endpoint_url: str | None, stack: str | None) -> Target:
        """Local mode unless a stage or profile says AWS; `--endpoint-url` points at another emulator."""
        deployed = stage is not None or profile is not None
        endpoint = endpoint_url or (None if deployed else LOCAL_ENDPOINT)
        return cls(stack_name=stack or stack_name_for(stage), endpoint_url=endpoint, profile=profile, region=region)

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    @cached_property
    def session(self) -> boto3.Session:
        if not self.is_local:
            return boto3.Session(profile_name=self.profile, region_name=self.region)
        session = boto3.Session(profile_name=self.profile, region_name=self.region or LOCAL_REGION)
        if session.get_credentials() is None:
            session = boto3.Session(aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_KEY, region_name=self.region or LOCAL_REGION)
        return session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5)
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=config)
        return self._clients[service]

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError as error:
            raise UserError(
                f"stack {self.stack_name} not found ({error.response['Error'].get('Message', error)}); {self._hint()}"
            ) from None
        except BotoCoreError as error:
            raise UserError(f"cannot reach {self._where()}: {error}; {self._hint()}") from None
        return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}

    def output(self, name: str) -> str:
        if name not in self.outputs:
            raise UserError(f"stack {self.stack_name} has no output {name}: is it this platform's stack?")
        return self.outputs[name]

    @property
    def api_url(self) -> str:
        return self.output("ApiUrl").rstrip("/") + "/"

    def _where(self) -> str:
        return f"local mode at {self.endpoint_url}" if self.is_local else f"AWS ({self.session.region_name or 'no region'})"

    def _hint(self) -> str:
        if self.is_local:
            return "start local mode with `make local` (or pass --stage/--profile for a deployed stack)"
        return "check --stage, --profile and --region (or AWS_PROFILE / AWS_REGION)"
