"""Local mode as one object: the emulator, the deployed template, and the services moto lacks.

LocalPlatform.start() runs moto's server, deploys the synthesized stack into it, publishes the
stack outputs, and starts the Lambda runtime, the EventBridge router, CloudWatch metrics and alarm
evaluation, and the API gateway. A background loop drains event taps, fires due schedules and
evaluates alarms, as AWS would on its own.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from local import moto_patches, training_jobs
from local.access import StackAccess
from local.api_auth import ApiAuthorizer
from local.assembly import load_dependencies, load_stack
from local.cloudwatch import AlarmEvaluator, ExecutionMetrics, MetricsSink
from local.deployer import Deployer, Deployment
from local.events import EventRouter, ExecutionStatusEvents
from local.gateway import LocalGateway
from local.intrinsics import REGION
from local.lambda_runtime import FunctionSpec, LambdaRuntime
from local.log_subscriptions import LogSubscriptions
from local.outputs import publish_stack
from local.training_jobs import TrainingJobRunner
from mlops_cli.console_server import Console
from mlops_cli.signing import signed_call

DEFAULT_HOST = "127.0.0.1"
AWS_PORT = 4566
API_PORT = 3000
LOOP_INTERVAL_S = 0.2
ALARM_INTERVAL_S = 10.0
EXECUTION_EVENTS_INTERVAL_S = 1.0
# Local mode's own key: any key that is not an emulator IAM user's stands for the account's root.
LOCAL_CREDENTIALS = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)


class LocalPlatform:
    def __init__(
        self,
        outdir: Path,
        stack_name: str,
        host: str = DEFAULT_HOST,
        aws_port: int = AWS_PORT,
        api_port: int = API_PORT,
        background: bool = True,
        any_host: bool = False,
    ) -> None:
        """any_host: the gateway answers any Host (for `--allow-remote`); by default loopback names only."""
        self._any_host = any_host
        self.outdir, self.stack_name = outdir, stack_name
        self.host, self.aws_port, self.api_port = host, aws_port, api_port
        self.endpoint_url = f"http://{host}:{aws_port}"
        self.api_url = f"http://{host}:{api_port}"
        self._background = background
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._stop = threading.Event()
        self.deployment: Deployment | None = None

    def client(self, service: str) -> Any:
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=Config(retries={"max_attempts": 2, "mode": "standard"}),
                )
            return self._clients[service]

    def start(self) -> LocalPlatform:
        started = time.monotonic()
        # moto's Step Functions engine calls Lambda through this port.
        os.environ["MOTO_PORT"] = str(self.aws_port)
        # Roles attach AWS-managed policies (AWSLambdaBasicExecutionRole); moto loads them only on request.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's engine logs every Fail state as an exception; a failed run is reported by the run itself.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._server.start()
        self._configure_moto({"stepfunctions": {"execute_state_machine": True}})
        self.runtime = LambdaRuntime(self.endpoint_url, REGION)
        self.runtime.authorization = self._authorization
        moto_patches.install(self.runtime, lambda arn: self.access.state_machine_authorizer(arn))
        self.metrics = MetricsSink(self.client)
        self.runtime.listeners.append(self.metrics.on_invoke)
        for dependency in load_dependencies(self.outdir, self.stack_name):  # the account's API Gateway logging role
            Deployer(self.client, self.runtime.register).deploy(dependency)
        stack = load_stack(self.outdir, self.stack_name)
        # Before the state machines are created: they hold SageMaker Tasks. Jobs run after the deploy,
        # with the IAM of the roles it created.
        training_jobs.install(
            TrainingJobRunner(stack, self.endpoint_url, lambda role, job: self.access.authorizer(role, job, f"training job {job}"))
        )
        self.deployment = Deployer(self.client, self.runtime.register).deploy(stack)
        self.access = StackAccess(self.deployment)
        self.deployment.outputs = {name: self._local_url(value) for name, value in self.deployment.outputs.items()}
        publish_stack(self.client("cloudformation"), self.deployment)
        log_groups = {spec.name: spec.log_group for spec in self.deployment.functions.values()}
        self.log_subscriptions = LogSubscriptions(
            self.client,
            self.deployment.subscriptions,
            log_groups,
            self.access.firehose_denial,
            self.metrics.put,
            streams=self.deployment.delivery_streams,
        )
        self.runtime.listeners.append(self.log_subscriptions.on_invoke)
        self.events = EventRouter(self.client, self.runtime, self.deployment.rules, self.access)
        self.execution_events = ExecutionStatusEvents(self.client, self.deployment.state_machines)
        self.alarms = AlarmEvaluator(self.client, self.metrics, self.access)
        self.executions = ExecutionMetrics(self.client, self.metrics, self.deployment.state_machines)
        api_name = next(iter(self.deployment.api_names.values()), "local")
        self.gateway = LocalGateway(
            self.runtime,
            self.deployment.routes,
            self.deployment.stages,
            self.metrics,
            self.access,
            ApiAuthorizer(self.client),
            api_name,
            any_host=self._any_host,
        )
        self.gateway.controls = self._controls()
        self.gateway.console = Console(self._signed_call)
        self.gateway.serve(self.host, self.api_port)
        if self._background:
            threading.Thread(target=self._loop, daemon=True, name="local-loop").start()
        self.deploy_seconds = time.monotonic() - started
        return self

    def _signed_call(self, method: str, path_and_query: str, body: bytes | None) -> tuple[int, bytes]:
        """The console's API calls, signed as the account's root (local mode's own key), as `mlops console` signs them as its user."""
        url = f"{self.api_url}/{path_and_query.lstrip('/')}"
        return signed_call(method, url, body, {"Content-Type": "application/json"}, LOCAL_CREDENTIALS)

    def _authorization(self, spec: FunctionSpec) -> dict[str, Any]:
        """What local/iam.py checks a function's calls against: its role's statements as synthesized."""
        return self.access.function_authorizer(spec.role_arn, spec.name)

    def _configure_moto(self, config: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/config",
            data=json.dumps(config).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()

    def _local_url(self, value: str) -> str:
        """The API's https://<id>.execute-api... URL becomes the local gateway's, stage path kept."""
        for api_id, stage in self.deployment.stages.items() if self.deployment else []:
            if value.startswith(f"https://{api_id}.execute-api."):
                return f"{self.api_url}/{stage}/"
        return value

    def _loop(self) -> None:
        next_alarm_check = time.monotonic() + ALARM_INTERVAL_S
        next_execution_look = time.monotonic()
        while not self._stop.wait(LOOP_INTERVAL_S):
            try:
                if time.monotonic() >= next_execution_look:
                    self.execution_events.collect()
                    next_execution_look = time.monotonic() + EXECUTION_EVENTS_INTERVAL_S
                self.events.drain()
                self.events.fire_due_schedules()
                if time.monotonic() >= next_alarm_check:
                    self.evaluate_alarms()
                    next_alarm_check = time.monotonic() + ALARM_INTERVAL_S
            except Exception as error:  # the loop must outlive one bad event; say what happened
                print(f"local mode: background loop error: {error!r}", flush=True)

    def _controls(self) -> dict[tuple[str, str], Any]:
        """Local-only endpoints so a test or a user need not wait for a schedule or an alarm period."""
        assert self.deployment is not None
        deployment = self.deployment
        return {
            ("GET", "/_local/status"): lambda _: {
                "stack": deployment.stack_name,
                "deploy_seconds": round(self.deploy_seconds, 2),
                "functions": sorted(spec.name for spec in deployment.functions.values()),
                "rules": [{"name": r.name, "schedule": r.schedule} for r in deployment.rules],
                "alarms": deployment.alarms,
                "outputs": deployment.outputs,
            },
            ("POST", "/_local/alarms/evaluate"): lambda _: {"changes": self.evaluate_alarms()},
            ("POST", "/_local/faults"): lambda body: self.runtime.inject_fault(
                self._deployed_function(body["function"]), body["fault"], body.get("times", 1), body.get("after_ms", 500)
            ),
            ("POST", "/_local/faults/clear"): lambda _: {"cleared": self.runtime.clear_faults()},
            ("POST", "/_local/faults/capture"): lambda body: self._refuse_capture(float(body["seconds"])),
            ("GET", "/_local/capture"): lambda _: {
                "undelivered_lines": self.log_subscriptions.undelivered_lines(),
                "discarded_lines": self.log_subscriptions.discarded,
            },
            ("POST", "/_local/events/drain"): lambda _: {"delivered": self.events.drain(wait=True)},
            ("POST", "/_local/schedules/fire"): lambda body: {"outcomes": self.fire_schedule(body["rule"])},
        }

    def _deployed_function(self, part: str) -> str:
        """A fault names part of a deployed function's name: an empty or unknown one would fault every
        function, or none, silently."""
        assert self.deployment is not None
        names = sorted(spec.name for spec in self.deployment.functions.values())
        if not isinstance(part, str) or not part.strip() or not any(part in name for name in names):
            raise ValueError(f"no deployed function's name contains {part!r}; functions: {names}")
        return part

    def _refuse_capture(self, seconds: float) -> dict[str, Any]:
        self.log_subscriptions.fail_deliveries_for(seconds)
        return {"refusing_for_s": seconds}

    def fire_schedule(self, rule: str) -> list[Any]:
        """Runs a schedule's targets now, on everything captured so far; their metrics are in CloudWatch when this returns."""
        self.log_subscriptions.flush()  # what was served so far is in the capture bucket first
        outcomes = self.events.fire_schedule(self.events.rule(rule))
        self.metrics.flush()
        return outcomes

    def evaluate_alarms(self) -> list[dict[str, Any]]:
        """Publishes what finished since the last look, then evaluates every alarm once."""
        self.executions.collect()
        return self.alarms.evaluate()

    @property
    def outputs(self) -> dict[str, str]:
        assert self.deployment is not None
        return self.deployment.outputs

    def stop(self) -> None:
        """Stops whatever start() got to, so a failed deploy still frees its ports."""
        self._stop.set()
        for part in ("gateway", "events", "runtime"):
            if hasattr(self, part):
                getattr(self, part).close()
        moto_patches.uninstall()
        training_jobs.uninstall()
        if hasattr(self, "_server"):
            self._server.stop()
