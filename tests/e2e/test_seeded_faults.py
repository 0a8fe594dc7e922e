"""Seeded faults: a copy of the synthesized app with one thing broken, served by `python -m local serve`
and driven as a user would. Each fails in local mode as it would in AWS, and says which function
and which package, action or limit."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from tests.conftest import STACK_NAME
from tests.e2e.conftest import serving
from tests.unit.specs import CHURN_SPEC

MODEL = "churn"
HEADER = b"tenure_months,monthly_charges,plan,churned\n"
# Ingest, seeded: its answer is as large as the uploaded file's name asks for.
OVERSIZED_INGEST = """
def lambda_handler(event, context):
    key = event["request"]["source"]["key"]
    size = 7 * 1024 * 1024 if "over-6mb" in key else 300 * 1024
    return {**event, "padding": "x" * size}
"""


def _failed(run: dict) -> bool:
    return run.get("status") == "FAILED"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _function(template: dict, handler_module: str) -> dict:
    """The template's function whose handler (or image command) is handlers.<module>."""
    for resource in template["Resources"].values():
        props = resource["Properties"] if resource["Type"] == "AWS::Lambda::Function" else {}
        handler = props.get("Handler") or props.get("ImageConfig", {}).get("Command", [""])[0]
        if handler == f"handlers.{handler_module}.lambda_handler":
            return resource
    raise KeyError(handler_module)


def broken_copy(cloud_assembly: Path, folder: Path, edit: Callable[[dict, Path], None]) -> Path:
    """The cloud assembly with an edited template; every asset is shared by symlink, not copied."""
    outdir = folder / "cdk.out"
    outdir.mkdir()
    template_name = f"{STACK_NAME}.template.json"
    for entry in cloud_assembly.iterdir():
        if entry.name != template_name:
            (outdir / entry.name).symlink_to(entry)
    template = json.loads((cloud_assembly / template_name).read_text())
    edit(template, outdir)
    (outdir / template_name).write_text(json.dumps(template))
    return outdir


def started(outdir: Path, folder: Path):
    return serving(outdir, folder / "serve.log", aws_port=_free_port(), api_port=_free_port())


def test_a_function_whose_layers_lack_a_package_fails_its_cold_start(cloud_assembly, tmp_path):
    # Given the API function deployed without its serving layer (numpy, onnxruntime)
    def drop_serving_layer(template: dict, _: Path) -> None:
        api = _function(template, "handle_api")["Properties"]
        api["Layers"] = api["Layers"][:1]

    with started(broken_copy(cloud_assembly, tmp_path, drop_serving_layer), tmp_path) as stack:
        # When a client calls the API, and an operator invokes the function directly
        status, _ = stack.api("GET", "health")
        function = next(name for name in _names(stack) if "ServingApi" in name)
        answer = stack.client("lambda").invoke(FunctionName=function, Payload=b"{}")
        error = json.loads(answer["Payload"].read())

    # Then the API answers 502, the invoke fails as Lambda's cold start does, and the log names both
    assert status == 502
    assert answer.get("FunctionError") and error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'handlers.handle_api': No module named 'numpy'" in error["errorMessage"]
    log = (tmp_path / "serve.log").read_text()
    assert f"{function}: Runtime.ImportModuleError" in log and "No module named 'numpy'" in log


def _names(stack) -> list[str]:
    return [f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]]


def test_a_role_missing_one_statement_is_refused_where_aws_would_refuse_it(cloud_assembly, tmp_path):
    # Given StartRun's role without the statement that lets it start the training pipeline
    def drop_start_execution(template: dict, _: Path) -> None:
        role = _function(template, "handle_start_run")["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = (r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")
        policy = next(p for p in policies if {"Ref": role} in p["Properties"]["Roles"])
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        policy["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"] != "states:StartExecution"]
        assert len(policy["Properties"]["PolicyDocument"]["Statement"]) == len(statements) - 1

    with started(broken_copy(cloud_assembly, tmp_path, drop_start_execution), tmp_path) as stack:
        assert stack.api("PUT", f"models/{MODEL}", CHURN_SPEC)[0] == 201
        # When a dataset is uploaded
        bucket = stack.outputs["DataBucketName"]
        stack.client("s3").put_object(Bucket=bucket, Key=f"datasets/{MODEL}/refused.csv", Body=HEADER)
        stack.control("events/drain")
        log = stack.until(lambda: (tmp_path / "serve.log").read_text(), lambda text: "states:StartExecution" in text, "the refusal")
        # Then no run starts, the upload is kept, and local mode says who was refused what
        executions = stack.client("stepfunctions").list_executions(stateMachineArn=stack.outputs["TrainingPipelineArn"])["executions"]
        kept = stack.client("s3").head_object(Bucket=bucket, Key=f"datasets/{MODEL}/refused.csv")

    assert executions == [] and kept["ContentLength"] > 0
    refusal = next(line for line in log.splitlines() if "states:StartExecution" in line)
    assert "AccessDeniedException" in refusal and "PipelineStartRun" in refusal and "TrainingPipeline" in refusal


def test_answers_and_states_over_the_service_limits_fail_the_run_with_the_limit_named(cloud_assembly, tmp_path):
    # Given an Ingest step whose answer is 7 MB or 300 KiB, as the uploaded file's name asks
    def oversized_ingest(template: dict, outdir: Path) -> None:
        ingest = _function(template, "handle_ingest")
        code = outdir / "asset.seeded-ingest"
        shutil.copytree(cloud_assembly / ingest["Metadata"]["aws:asset:path"], code)
        (code / "handlers" / "handle_ingest.py").write_text(OVERSIZED_INGEST)
        ingest["Metadata"]["aws:asset:path"] = code.name

    with started(broken_copy(cloud_assembly, tmp_path, oversized_ingest), tmp_path) as stack:
        assert stack.api("PUT", f"models/{MODEL}", CHURN_SPEC)[0] == 201
        known: set[str] = set()
        runs = {}
        for name in ("over-6mb.csv", "over-256kb.csv"):
            # When each is uploaded
            execution = stack.train(known, MODEL, name, HEADER + b"1,2,pro,yes\n")
            run = stack.until(lambda e=execution: stack.api("GET", f"runs/{e['name']}")[1], _failed, "a FAILED run")
            runs[name] = (execution, run)
        log = (tmp_path / "serve.log").read_text()

    # Then a Lambda answer over 6 MB fails the step, caught by the pipeline, with Lambda's reason
    execution, run = runs["over-6mb.csv"]
    assert execution["status"] == "FAILED"
    assert run["failure"]["error"] == "Function.ResponseSizeTooLarge" and "6291456 bytes" in run["failure"]["reason"]
    assert "PipelineIngest" in log and "exceeded maximum allowed payload size" in log
    # And a state over 256 KiB ends the execution past every Catch, as AWS does; the run still ends
    execution, run = runs["over-256kb.csv"]
    assert execution["status"] == "FAILED"
    assert run["failure"]["error"] == "States.DataLimitExceeded" and "size exceeding the maximum" in run["failure"]["reason"]
    assert run["failure"]["execution_status"] == "FAILED"  # ended by the status-change rule: no Catch ran


def test_a_data_plane_role_without_kms_decrypt_cannot_serve_and_says_which_call_was_denied(cloud_assembly, tmp_path):
    # Given the data plane's role without kms:Decrypt (its clients are botocore's own, not boto3's)
    def drop_decrypt(template: dict, _: Path) -> None:
        role = _function(template, "handle_predict")["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = [
            r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        ]
        dropped = 0
        for policy in policies:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                if "kms:Decrypt" in actions:
                    statement["Action"] = [a for a in actions if a != "kms:Decrypt"] or ["kms:DescribeKey"]
                    dropped += 1
        assert dropped

    with started(broken_copy(cloud_assembly, tmp_path, drop_decrypt), tmp_path) as stack:
        assert stack.api("PUT", f"models/{MODEL}", CHURN_SPEC)[0] == 201
        rows = b"".join(
            f"{i % 70},{20 + i % 50}.5,{['basic', 'plus', 'pro'][i % 3]},{'yes' if i % 4 == 0 else 'no'}\n".encode() for i in range(300)
        )
        assert stack.train(set(), MODEL, "good.csv", HEADER + rows)["status"] == "SUCCEEDED"
        # When a client asks the champion for a prediction
        status, answer = stack.api(
            "POST", f"models/{MODEL}/predict", {"records": [{"tenure_months": 3, "monthly_charges": 20.5, "plan": "pro"}]}
        )
        log = (tmp_path / "serve.log").read_text()

    # Then it is refused as AWS would refuse the model's encrypted artifact, and the log says so
    assert status >= 500, answer
    refusal = next(line for line in log.splitlines() if "kms:Decrypt" in line and "not authorized" in line)
    assert "Predict" in refusal
