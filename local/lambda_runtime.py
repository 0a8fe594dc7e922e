"""Runs the template's Lambda functions as warm child processes, one pool per function.

Each function gets exactly the environment the template gives it, plus what the Lambda service
itself sets (AWS_LAMBDA_*, _HANDLER, LAMBDA_TASK_ROOT) and the emulator's endpoint. Code is imported
from the staged asset in cdk.out, so what runs is what `cdk deploy` would upload.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import limits

# local/iam.py's and local/limits.py's markers for a refused call (their log lines, echoed).
REFUSAL_LOG_PREFIXES = ("local IAM:", "local limits:")
WORKER_SCRIPT = Path(__file__).resolve().parent / "lambda_worker.py"
# Host variables a worker keeps: enough to run Python, nothing that could leak the host's AWS setup.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")
MAX_CONCURRENCY_PER_FUNCTION = 4
MEMORY_POLL_S = 0.05
# Faults local mode can inject (POST /_local/faults), each as the Lambda service would surface it.
FAULTS = {
    "throttle": {"errorType": "Lambda.TooManyRequestsException", "errorMessage": "Rate exceeded (injected)"},
    "crash": {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: local Error: Runtime exited with error: signal: killed"},
}


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    log_group: str
    # Site directories the function may import from (its layers or image, then the runtime's); none
    # of the host's site-packages.
    python_path: tuple[Path, ...] = ()
    role_arn: str = ""
    dead_letter_arn: str = ""  # where Lambda sends an asynchronous event that failed after its retries


@dataclass
class InvokeResult:
    payload: Any
    errored: bool
    logs: list[str]
    duration_ms: float
    function: str = ""
    cold_start: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def payload_json(self) -> str:
        return json.dumps(self.payload, default=str)


class _Worker:
    def __init__(self, spec: FunctionSpec, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            # -I -S: no site-packages, no PYTHONPATH, no user site (the worker sets the function's path); -B:
            # no bytecode written into the code or layers, read-only in Lambda.
            [sys.executable, "-I", "-S", "-B", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=str(spec.code_dir),
            text=True,
            bufsize=1,
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def call(self, request_line: str, timeout_s: float, memory_mb: int) -> tuple[dict[str, Any] | None, str]:
        """(the reply, "") or (None, why): "timeout", "memory" (killed over its memory size) or "died"."""
        assert self.process.stdin is not None
        deadline = time.monotonic() + timeout_s
        try:
            self.process.stdin.write(request_line + "\n")
            self.process.stdin.flush()
            while True:  # Lambda's sandbox kills a function over its memory size: watch it while it works
                try:
                    line = self._replies.get(timeout=min(MEMORY_POLL_S, max(0.0, deadline - time.monotonic())))
                    break
                except queue.Empty:
                    if self.resident_mb() > memory_mb:
                        self.stop()
                        return None, "memory"
                    if time.monotonic() >= deadline:
                        return None, "timeout"
        except (BrokenPipeError, OSError):
            return None, "died"
        return (json.loads(line), "") if line else (None, "died")

    def resident_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


class LambdaRuntime:
    def __init__(self, endpoint_url: str, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._specs: dict[str, FunctionSpec] = {}
        self._idle: dict[str, list[_Worker]] = {}
        self._slots: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[InvokeResult], None]] = []
        self._faults: list[dict[str, Any]] = []
        # Local mode sets this: the IAM a function's calls are checked against (local/iam.py).
        self.authorization: Callable[[FunctionSpec], dict[str, Any]] | None = None
        self._iam_dir = tempfile.TemporaryDirectory(prefix="local-iam-")

    def inject_fault(self, function: str, fault: str, times: int = 1, after_ms: int = 500) -> dict[str, Any]:
        """The next `times` invokes of functions whose name contains `function` fail with `fault`.

        A crash kills the worker process `after_ms` into the invoke, mid-work, as an out-of-memory
        kill would; a throttle answers before the handler runs.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        entry = {"function": function, "fault": fault, "remaining": int(times), "after_ms": int(after_ms)}
        with self._lock:
            self._faults.append(entry)
        return entry

    def clear_faults(self) -> int:
        with self._lock:
            armed = sum(entry["remaining"] for entry in self._faults)
            self._faults.clear()
        return armed

    def _take_fault(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            for entry in self._faults:
                if entry["function"] in name and entry["remaining"] > 0:
                    entry["remaining"] -= 1
                    return dict(entry)
        return None

    def register(self, spec: FunctionSpec) -> None:
        with self._lock:
            self._specs[spec.name] = spec
            self._idle.setdefault(spec.name, [])
            self._slots.setdefault(spec.name, threading.Semaphore(MAX_CONCURRENCY_PER_FUNCTION))

    def spec(self, name_or_arn: str) -> FunctionSpec:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        if name not in self._specs:
            raise KeyError(f"function {name!r} is not deployed locally")
        return self._specs[name]

    def worker_environment(self, spec: FunctionSpec) -> dict[str, str]:
        env = {key: os.environ[key] for key in PASSTHROUGH_ENV if key in os.environ}
        env.update(spec.environment)
        env.update(
            {
                "_HANDLER": spec.handler,
                "LAMBDA_TASK_ROOT": str(spec.code_dir),
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{uuid.uuid4().hex}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_REGION": self._region,
                "AWS_DEFAULT_REGION": self._region,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
                "AWS_ENDPOINT_URL": self._endpoint_url,
                "LOCAL_FUNCTION_ARN": spec.arn,
                "LOCAL_PYTHON_PATH": os.pathsep.join(str(path) for path in spec.python_path),
                # There is no X-Ray daemon on a laptop; the tracer would only warn.
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        if self.authorization is not None:
            policy_file = Path(self._iam_dir.name) / f"{spec.name}.json"
            policy_file.write_text(json.dumps(self.authorization(spec)))
            env["LOCAL_IAM_FILE"] = str(policy_file)
        return env

    def invoke(self, name_or_arn: str, event: Any, asynchronous: bool = False) -> InvokeResult:
        """Runs the handler; asynchronous is an Event invoke (EventBridge, S3), with its smaller payload limit."""
        spec = self.spec(name_or_arn)
        request_id = str(uuid.uuid4())
        request_line = json.dumps(
            {"event": event, "request_id": request_id, "deadline_ms": int(time.time() * 1000) + spec.timeout_s * 1000}
        )
        if (too_large := limits.request_too_large(len(request_line.encode()), asynchronous)) is not None:
            print(f"local Lambda: {spec.name}: {too_large['errorMessage']}", flush=True)
            return self._finish(spec, InvokeResult(payload=too_large, errored=True, logs=[], duration_ms=0.0), False)
        fault = self._take_fault(spec.name)
        if fault is not None and fault["fault"] == "throttle":
            return self._finish(spec, InvokeResult(payload=FAULTS["throttle"], errored=True, logs=[], duration_ms=0.0), False)
        with self._slots[spec.name]:
            worker, cold = self._take_worker(spec)
            started = time.monotonic()
            if fault is not None:  # crash: kill the process while the handler is working
                threading.Timer(fault["after_ms"] / 1000, worker.stop).start()
            reply, why = worker.call(request_line, spec.timeout_s, spec.memory_mb)
            duration_ms = (time.monotonic() - started) * 1000
            if reply is None:
                worker.stop()
                if fault is not None:
                    payload = FAULTS["crash"]
                elif why == "memory":
                    payload = limits.out_of_memory(request_id)
                    print(f"local Lambda: {spec.name}: over its {spec.memory_mb} MB memory size, killed", flush=True)
                elif why == "timeout":
                    payload = {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {spec.timeout_s} seconds"}
                else:
                    payload = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: Runtime exited"}
                result = InvokeResult(payload=payload, errored=True, logs=[], duration_ms=duration_ms)
            elif not asynchronous and (too_large := limits.response_too_large(len(json.dumps(reply["payload"]).encode()))):
                print(f"local Lambda: {spec.name}: {too_large['errorMessage']}", flush=True)
                with self._lock:
                    self._idle[spec.name].append(worker)
                result = InvokeResult(payload=too_large, errored=True, logs=reply["logs"], duration_ms=duration_ms)
            else:
                with self._lock:
                    self._idle[spec.name].append(worker)
                result = InvokeResult(payload=reply["payload"], errored=not reply["ok"], logs=reply["logs"], duration_ms=duration_ms)
        return self._finish(spec, result, cold)

    def _finish(self, spec: FunctionSpec, result: InvokeResult, cold: bool) -> InvokeResult:
        result.function, result.cold_start = spec.name, cold
        for line in result.logs:  # what AWS would refuse is said where the user looks, not only in the log
            if line.startswith(REFUSAL_LOG_PREFIXES):
                print(line, flush=True)
        if result.errored and isinstance(result.payload, dict) and result.payload.get("errorType") == "Runtime.ImportModuleError":
            print(f"local Lambda: {spec.name}: Runtime.ImportModuleError: {result.payload.get('errorMessage')}", flush=True)
        for listener in self.listeners:
            listener(result)
        return result

    def _take_worker(self, spec: FunctionSpec) -> tuple[_Worker, bool]:
        with self._lock:
            idle = self._idle[spec.name]
            while idle:
                worker = idle.pop()
                if worker.process.poll() is None:
                    return worker, False
        return _Worker(spec, self.worker_environment(spec)), True

    def close(self) -> None:
        with self._lock:
            workers = [w for pool in self._idle.values() for w in pool]
            for pool in self._idle.values():
                pool.clear()
        for worker in workers:
            worker.stop()
        self._iam_dir.cleanup()
