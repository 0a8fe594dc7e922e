"""SageMaker training jobs as synthesized: the image they run, the role they get, what the pipeline's
state machine may do with them, and the entry point the definition names."""

import json
from pathlib import Path

from tests.conftest import STACK_NAME
from tests.infra.test_template import ASL, all_states, resources

ROOT = Path(__file__).resolve().parents[2]
JOB_TASKS = {
    name: state for name, state in all_states(ASL["States"]).items() if state.get("Resource", "").startswith("arn:aws:states:::sagemaker:")
}


def statements_of(template: dict, role_prefix: str) -> list[dict]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if any(role["Ref"].startswith(role_prefix) for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_jobs_run_the_training_dockerfile_built_for_x86(cloud_assembly):
    manifest = json.loads((cloud_assembly / f"{STACK_NAME}.assets.json").read_text())
    images = [image["source"] for image in manifest["dockerImages"].values()]
    platforms = {source.get("platform") for source in images if source.get("dockerFile") == "layers/training/Dockerfile"}
    # The functions run on Graviton; SageMaker trains on x86 instances.
    assert platforms == {"linux/arm64", "linux/amd64"}


def test_each_job_runs_the_training_module_of_the_image_with_the_stacks_role():
    assert set(JOB_TASKS) == {"TrialJob", "TrainingJob"}
    for name, state in JOB_TASKS.items():
        assert state["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync", name
        spec = state["Parameters"]["AlgorithmSpecification"]
        assert spec["TrainingImage"] == "${TrainingJobImage}" and state["Parameters"]["RoleArn"] == "${TrainingJobRoleArn}"
        python, flag, module = spec["ContainerEntrypoint"]
        assert (python, flag) == ("python3", "-m") and (ROOT / "functions" / (module.replace(".", "/") + ".py")).is_file()
        # Only what the finished job leaves goes on: its name and where its model.tar.gz is.
        assert set(state["ResultSelector"]) == {"name.$", "model_artifacts.$", "billable_seconds.$"}


def test_the_job_role_is_sagemakers_and_reaches_the_runs_folder_only(template):
    roles = {k: r for k, r in resources(template, "AWS::IAM::Role").items() if k.startswith("PipelineTrainingJobsTrainingJobRole")}
    ((_, role),) = roles.items()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    writes = [s for s in statements_of(template, "PipelineTrainingJobsTrainingJobRole") if "s3:PutObject" in s["Action"]]
    objects = [r["Fn::Join"][1][-1] for s in writes for r in s["Resource"] if "Fn::Join" in r]  # the rest: the bucket itself
    assert objects == ["/runs/*"]


def test_the_state_machine_passes_the_job_role_to_sagemaker_only(template):
    statements = statements_of(template, "PipelineTrainingPipelineRole")
    (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Resource"]["Fn::GetAtt"][0].startswith("PipelineTrainingJobsTrainingJobRole")
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    (jobs,) = [s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"]]
    # As Step Functions documents createTrainingJob.sync's policy: ListTags included
    assert {"sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags", "sagemaker:ListTags"} <= set(jobs["Action"])
    assert jobs["Resource"]["Fn::Join"][1][-1].endswith(":training-job/mlops-*")
    (rule,) = [s for s in statements if "events:PutRule" in s["Action"]]
    assert rule["Resource"]["Fn::Join"][1][-1].endswith("rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule")
