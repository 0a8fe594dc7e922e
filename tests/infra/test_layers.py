"""The dependency layers: pinned like the app, light where it serves, and within Lambda's size limit."""

import re
from pathlib import Path

import pytest

from infra.constructs.function_factory import LAYERS_DIR, layer_build_dir
from layers.build import size_bytes

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


@pytest.mark.parametrize("layer", ["common", "serving", "tables", "training", "runtime"])
def test_layer_pins_equal_the_app_pins_so_local_mode_runs_the_same_versions(layer):
    app = pins(ROOT / "requirements.txt")
    for name, version in pins(LAYERS_DIR / layer / "requirements.txt").items():
        assert app.get(name) == version, f"{layer}: {name}=={version} but requirements.txt pins {app.get(name)}"


def test_the_serving_layer_carries_onnxruntime_and_numpy_only():
    packages = {p.name.split("-")[0].lower() for p in (layer_build_dir("serving") / "python").iterdir()}
    assert {"onnxruntime", "numpy"} <= packages
    assert not packages & {"sklearn", "scikit_learn", "scipy", "pandas"}


def test_layers_are_built_for_lambda_arm64_python312():
    binaries = [p.name for p in (layer_build_dir("serving") / "python" / "onnxruntime").rglob("*.so")]
    assert binaries and all("x86_64" not in name for name in binaries)
    assert any("cpython-312-aarch64" in p.name for p in (layer_build_dir("common") / "python").rglob("*.so"))


def test_each_zip_function_fits_lambdas_unzipped_limit(template, cloud_assembly, capsys):
    layer_sizes = {
        logical_id: size_bytes(cloud_assembly / r["Metadata"]["aws:asset:path"])
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    }
    report = []
    for logical_id, function in template["Resources"].items():
        props = function["Properties"] if function["Type"] == "AWS::Lambda::Function" else None
        if props is None or props.get("PackageType") == "Image" or "ZipFile" in props.get("Code", {}):
            continue
        code = size_bytes(cloud_assembly / function["Metadata"]["aws:asset:path"])
        total = code + sum(layer_sizes[layer["Ref"]] for layer in props.get("Layers", []))
        report.append(f"{logical_id:40} {total / 2**20:7.1f} MiB of {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB")
        assert total < LAMBDA_UNZIPPED_LIMIT, logical_id
    images = [k for k, r in template["Resources"].items() if r.get("Properties", {}).get("PackageType") == "Image"]
    report += [f"{logical_id:40} container image (limit 10 GiB; built by cdk deploy)" for logical_id in images]
    with capsys.disabled():
        print("\nunzipped size per function (code + layers):\n  " + "\n  ".join(report))
