"""End-to-end: `python -m local serve` in its own process on 4566/3000, driven like a user drives it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.demo import wait_for_execution_arn
from local.gateway import CONTROL_HEADER
from local.outputs import read_outputs
from mlops_cli.signing import signed_call
from tests.conftest import STACK_NAME

ROOT = Path(__file__).resolve().parents[2]
AWS_ENDPOINT = "http://127.0.0.1:4566"
API_BASE = "http://127.0.0.1:3000"
STARTUP_TIMEOUT_S = 120


class LocalStack:
    """What a user has after `make local`: an AWS endpoint, stack outputs, an HTTP API."""

    def __init__(self, aws_endpoint: str = AWS_ENDPOINT, api_base: str = API_BASE) -> None:
        self.aws_endpoint, self.api_base = aws_endpoint, api_base
        self.outputs = read_outputs(self.client("cloudformation"), STACK_NAME)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name="us-east-1")

    def http(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None, signed: bool = True) -> tuple[int, Any]:
        """Calls to the API are SigV4-signed with the default (root) credentials unless `signed` is False."""
        if signed:
            return (answer := signed_call(method, url, body, headers))[0], _json_or_text(answer[1])
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json_or_text(error.read())

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        return self.http(method, self.outputs["ApiUrl"] + path.lstrip("/"), data, {"Content-Type": "application/json"})

    def control(self, path: str, body: dict | None = None) -> Any:
        status, answer = self.http(
            "POST", f"{self.api_base}/_local/{path}", json.dumps(body or {}).encode(), {CONTROL_HEADER: "1"}, signed=False
        )
        assert status == 200, answer
        return answer

    def wait_for_execution(self, known: set[str], timeout_s: float = 180) -> dict[str, Any]:
        """The next pipeline execution not in `known`, once finished."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for execution in sfn.list_executions(stateMachineArn=self.outputs["TrainingPipelineArn"])["executions"]:
                if execution["executionArn"] not in known and execution["status"] != "RUNNING":
                    known.add(execution["executionArn"])
                    return execution
            time.sleep(0.3)
        raise TimeoutError("no new pipeline execution finished")

    def check_now(self, model: str) -> dict[str, Any]:
        """Fires the platform schedule and delivers the events it causes; returns the model's new report."""
        before = self.api("GET", f"models/{model}/drift")
        outcomes = self.control("schedules/fire", {"rule": "ScheduledChecks"})["outcomes"]
        assert model in outcomes[0]["checks_due"]

        def delivered_report() -> tuple[int, dict]:
            self.control("events/drain")
            return self.api("GET", f"models/{model}/drift")

        def is_new(answer: tuple[int, dict]) -> bool:
            return answer[0] == 200 and (before[0] != 200 or answer[1]["check_id"] != before[1]["check_id"])

        return self.until(delivered_report, is_new, f"the check of {model}")[1]

    @staticmethod
    def until(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout_s: float = 60) -> Any:
        """fetch() again every half second until done(answer); the answer, or TimeoutError naming what."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = fetch()
            if done(answer):
                return answer
            time.sleep(0.5)
        raise TimeoutError(f"{what} did not happen in {timeout_s} s")

    def train(self, known: set[str], model: str, name: str, body: bytes) -> dict[str, Any]:
        """Uploads a dataset for `model` and returns its pipeline execution, finished."""
        self.client("s3").put_object(Bucket=self.outputs["DataBucketName"], Key=f"datasets/{model}/{name}", Body=body)
        return self.wait_for_execution(known)

    def wait_for_rollout(self, model: str, version: int, timeout_s: float = 120) -> dict[str, Any]:
        """The rollout execution of a version (named model-vN), once finished."""
        arn = self.outputs["RolloutArn"].replace(":stateMachine:", ":execution:") + f":{model}-v{version}"
        return wait_for_execution_arn(self.client("stepfunctions"), arn, timeout_s)


class Inbox:
    """An SQS queue subscribed to the platform's notification topic, as an operator would have."""

    def __init__(self, local_stack) -> None:
        self._sqs = local_stack.client("sqs")
        self._url = self._sqs.create_queue(QueueName="e2e-operator-inbox")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        local_stack.client("sns").subscribe(TopicArn=local_stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn)
        self.seen: list[dict] = []

    def messages(self) -> list[dict]:
        """Everything received so far (messages are kept across calls)."""
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            self.seen += [json.loads(m["Body"]) for m in batch]
        return self.seen


@pytest.fixture(scope="session")
def notifications(local_stack) -> Inbox:
    """Subscribed for the whole session, so no notification sent by an earlier module is missed."""
    return local_stack.inbox


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _ports_are_free() -> None:
    """Another local mode on 4566/3000 would answer this session's requests with its own state."""
    for port in (4566, 3000):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} is taken (another `python -m local serve` or make local?); stop it and run again")


@pytest.fixture(scope="session")
def local_stack(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory):
    _ports_are_free()
    with serving(cloud_assembly, tmp_path_factory.mktemp("local") / "serve.log") as stack:
        stack.inbox = Inbox(stack)  # subscribed before anything can notify
        yield stack


@contextlib.contextmanager
def serving(outdir: Path, log: Path, aws_port: int = 4566, api_port: int = 3000) -> Iterator[LocalStack]:
    """`python -m local serve` of a cloud assembly in its own process, its output in `log`."""
    ports = ["--aws-port", str(aws_port), "--api-port", str(api_port)]
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "serve", "--outdir", str(outdir), "--stack", STACK_NAME, *ports],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        api_base = f"http://127.0.0.1:{api_port}"
        _wait_until_serving(process, log, api_base)
        yield LocalStack(f"http://127.0.0.1:{aws_port}", api_base)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_serving(process: subprocess.Popen, log: Path, api_base: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local mode exited early:\n{log.read_text()}")
        try:
            urllib.request.urlopen(urllib.request.Request(f"{api_base}/_local/status", headers={CONTROL_HEADER: "1"}), timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise TimeoutError(f"local mode did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def executions(local_stack) -> set[str]:
    """Executions already known when a test module starts; wait_for_execution waits for newer ones."""
    sfn = local_stack.client("stepfunctions")
    return {e["executionArn"] for e in sfn.list_executions(stateMachineArn=local_stack.outputs["TrainingPipelineArn"])["executions"]}


# --- the user's tools: `mlops` and the console ---------------------------------------------------------

MLOPS = Path(sys.executable).with_name("mlops")  # installed by `make dev` (pip install -e cli)
RESULTS = ROOT / "test-results"  # transcripts and screenshots a person can look at (not committed)


class Cli:
    """`mlops` as a user runs it: its own process, in a working folder, against local mode."""

    def __init__(self, workdir: Path, aws_endpoint: str) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "MLOPS_ENDPOINT_URL": aws_endpoint, "COLUMNS": "160", "BROWSER": "true"}
        self.transcript: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None, status: int = 0) -> subprocess.CompletedProcess:
        assert MLOPS.exists(), f"{MLOPS} is missing: `make dev` installs the CLI"
        process = subprocess.run(
            [str(MLOPS), *args], cwd=self.workdir, env=self.env, input=stdin, capture_output=True, text=True, timeout=600
        )
        self.transcript.append(f"$ mlops {' '.join(args)}\n{process.stdout}{process.stderr}")
        assert "Traceback" not in process.stderr, process.stderr
        assert process.returncode == status, f"exit {process.returncode}, expected {status}:\n{process.stdout}\n{process.stderr}"
        return process

    def json(self, *args: str, stdin: str | None = None) -> Any:
        return json.loads(self(*args, "--json", stdin=stdin).stdout)


@dataclass
class QuickStart:
    """What the README's quick start leaves: a model with a champion (v1), a challenger (v2, manual
    rollout, so it waits for a person), served predictions and a drift check; and what each step printed."""

    model: str
    cli: Cli
    outputs: dict[str, str]


@pytest.fixture(scope="session")
def quick_start(local_stack, tmp_path_factory) -> QuickStart:
    from local.real_data import published

    model = "cancer"
    cli = Cli(tmp_path_factory.mktemp("quick-start"), local_stack.aws_endpoint)
    data = published("breast_cancer")
    (cli.workdir / "cancer.csv").write_bytes(data.csv())
    outputs = {"init": cli("init", "cancer.csv", "--target", "target", "--model", model).stdout}
    # The review: roll new versions out by hand, let a retrained one register even if no better,
    # judge drift on 100 rows, and retrain by hand only (a run it started would race the tests).
    spec_file = cli.workdir / f"{model}.spec.json"
    spec = json.loads(spec_file.read_text())
    spec["rollout"] = {"strategy": "manual"}
    spec["gates"] = {"min_improvement": -1.0}
    spec["monitoring"] = {"drift": {"min_samples": 100}, "retraining": {"max_per_day": 0}}
    spec_file.write_text(json.dumps(spec, indent=2))
    outputs["spec push"] = cli("spec", "push", spec_file.name).stdout
    outputs["push"] = cli("push", "cancer.csv", "--model", model).stdout
    outputs["predict"] = cli("predict", model, "-", stdin="\n".join(data.csv().decode().splitlines()[:4])).stdout
    outputs["predict all"] = cli("predict", model, "cancer.csv", "--json").stdout
    outputs["drift"] = cli("drift", model, "--now").stdout
    # A second version from part of the data: the challenger a person promotes.
    (cli.workdir / "cancer-2.csv").write_bytes(b"\n".join(data.csv().splitlines()[:450]) + b"\n")
    outputs["push 2"] = cli("push", "cancer-2.csv", "--model", model, "--distributed").stdout
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quick-start.txt").write_text("\n".join(cli.transcript))
    return QuickStart(model, cli, outputs)
