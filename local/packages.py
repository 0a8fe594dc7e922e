"""What each function of the template may import: its own layers (or its image), then the runtime's.

Lambda gives a zip function its code, its layers extracted into /opt, and the runtime's own
packages (boto3); an image function gets what its image installed. Local mode builds the same
pinned requirements for this host (layers/build.py) and runs each function with exactly those
directories on sys.path, none of the host's site-packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from layers.build import REQUIREMENTS_FILE, build_host, runtime_site_dir
from local.assembly import StackArtifact

WORKER_SCRIPT = Path(__file__).resolve().parent / "lambda_worker.py"
# Inside the training image's build context: what its Dockerfile pip-installs (tests/infra checks it).
TRAINING_IMAGE_REQUIREMENTS = "layers/training/requirements.txt"


def layer_site_dir(stack: StackArtifact, layer: dict[str, Any]) -> Path:
    requirements = stack.asset_dir(layer) / REQUIREMENTS_FILE
    if not requirements.is_file():
        raise FileNotFoundError(f"layer asset {requirements.parent.name} carries no {REQUIREMENTS_FILE} (rebuild it: make layers)")
    return build_host(requirements)


def function_site_dirs(stack: StackArtifact, function: dict[str, Any]) -> tuple[Path, ...]:
    """The last layer first: Lambda extracts layers in order, a later one overwriting an earlier one."""
    props = function["Properties"]
    if props.get("PackageType") == "Image":
        packages = [build_host(stack.asset_dir(function) / TRAINING_IMAGE_REQUIREMENTS)]
    else:
        layer_ids = [layer["Ref"] for layer in props.get("Layers", [])]
        packages = [layer_site_dir(stack, stack.resources[layer_id]) for layer_id in reversed(layer_ids)]
    return (*packages, runtime_site_dir())


def template_environment(function: dict[str, Any]) -> dict[str, str]:
    """A function's variables as the template sets them; a value only known at deploy time
    (a Ref, a GetAtt) stands as a placeholder, enough for a cold start to find it set."""
    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    return {name: value if isinstance(value, str) else f"<deployed {name}>" for name, value in variables.items()}


def import_error(
    code_dir: Path, handler: str, site_dirs: tuple[Path, ...], environment: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """Imports the handler as a Lambda cold start would; the Runtime.ImportModuleError, or None."""
    env = {
        **(environment or {}),
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": handler,
        "LOCAL_PYTHON_PATH": os.pathsep.join(str(path) for path in site_dirs),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(WORKER_SCRIPT), "--import-only"], env=env, cwd=code_dir, capture_output=True, text=True
    )
    if done.returncode == 0:
        return None
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"errorType": "Runtime.ExitError", "errorMessage": done.stderr[-2000:]}
