"""CDK feature flags: every flag a new app gets is decided (set, with why, or not applicable, with
why), and the one the data plane depends on does what it is set for."""

import json
import tarfile
from pathlib import Path

import aws_cdk
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra import feature_flags


def recommended() -> dict:
    """The flags `cdk init` writes for the installed aws-cdk-lib, read from its own package."""
    package = Path(aws_cdk.__file__).parent / "_jsii"
    (tarball,) = package.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(tarball) as archive:
        return json.load(archive.extractfile("package/recommended-feature-flags.json"))


def test_every_recommended_flag_is_set_with_its_value_or_said_not_to_apply():
    flags = recommended()
    assert set(flags) == set(feature_flags.APPLIED) | set(feature_flags.NOT_APPLICABLE)
    assert not set(feature_flags.APPLIED) & set(feature_flags.NOT_APPLICABLE)
    assert {name: value for name, (value, _) in feature_flags.APPLIED.items()} == {k: flags[k] for k in feature_flags.APPLIED}
    assert all(why for _, why in feature_flags.APPLIED.values())


def _version_id(tmp_path: Path, layer_content: str, context: dict) -> str:
    folder = tmp_path / layer_content
    (folder / "python").mkdir(parents=True)
    (folder / "python" / "pinned.txt").write_text(layer_content)
    stack = Stack(App(context=context), "S")
    layer = lambda_.LayerVersion(stack, "Serving", code=lambda_.Code.from_asset(str(folder)))
    function = lambda_.Function(
        stack, "Predict", runtime=lambda_.Runtime.PYTHON_3_12, handler="h.handler", code=lambda_.Code.from_inline("x = 1"), layers=[layer]
    )
    function.current_version  # noqa: B018 - creating it is the point
    (logical_id,) = Template.from_stack(stack).find_resources("AWS::Lambda::Version")
    return logical_id


@pytest.mark.parametrize(("context", "follows_layers"), [(feature_flags.context(), True), ({}, False)])
def test_a_new_serving_layer_publishes_a_new_function_version_only_with_the_flag(tmp_path, context, follows_layers):
    # Given the same function with the serving layer before and after a dependency bump
    before = _version_id(tmp_path / "a", "onnxruntime==1.31.1", context)
    after = _version_id(tmp_path / "b", "onnxruntime==1.32.0", context)
    # Then with the app's flags the published version (which the live alias points at) changes
    assert (before != after) is follows_layers
