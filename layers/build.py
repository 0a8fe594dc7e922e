"""Builds what each Lambda function may import, twice: for AWS and for local mode.

For AWS: pip installs manylinux aarch64 wheels for CPython 3.12 into layers/<name>/build/python
(the zip layers), then drops what Lambda never imports (tests, caches, type stubs) to keep the
unzipped size down. The layer also carries its requirements file, so whoever holds the staged
layer knows exactly what it pins.

For local mode: the same requirements file installed for this host into layers/.host/<hash>/python,
one site directory per distinct file (the zip layers, the training image, and what the Lambda
runtime itself provides). Local mode runs each function with only its own layers' directories on
sys.path, so a function that imports what its layers lack fails locally as it would in AWS.

Usage: python layers/build.py [name ...]
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
ZIP_LAYERS = ("common", "serving", "tables")
# Built for the host only: the training image's packages (the image itself is built by Docker) and
# what the python3.12 runtime provides to every function (boto3 and its dependencies).
HOST_ONLY = ("training", "runtime")
REQUIREMENTS_FILE = "requirements.txt"
HOST_BUILDS = LAYERS_DIR / ".host"
PLATFORM_ARGS = [
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
]
LAMBDA_PYTHON = (3, 12)
PRUNE_DIRS = ("__pycache__", "tests")
PRUNE_SUFFIXES = (".pyi", ".pyc")
# The Lambda Python runtime ships these; a layer copy would only shadow the runtime's.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six", "six.py")


def requirements_of(name: str) -> Path:
    return LAYERS_DIR / name / REQUIREMENTS_FILE


def build(name: str) -> Path:
    """The aarch64 zip layer `name`, rebuilt only when its requirements changed."""
    requirements = requirements_of(name)
    target = LAYERS_DIR / name / "build" / "python"
    stamp = LAYERS_DIR / name / "build.stamp"
    built_as = f"{requirements.read_text()}# built by CPython {sys.version_info.major}.{sys.version_info.minor}\n"
    if stamp.exists() and stamp.read_text() == built_as and (target.parent / REQUIREMENTS_FILE).is_file():
        return target.parent
    shutil.rmtree(target.parent, ignore_errors=True)
    target.mkdir(parents=True)
    _pip_install(requirements, target, PLATFORM_ARGS)
    prune(target, drop_runtime_packages=True)
    compile_for_lambda(target)
    shutil.copyfile(requirements, target.parent / REQUIREMENTS_FILE)
    stamp.write_text(built_as)
    return target.parent


def compile_for_lambda(target: Path) -> bool:
    """Bytecode for the Lambda runtime's CPython, when this interpreter is that version (the deploy
    workflow runs 3.12). /opt is read-only in Lambda, so a layer without it compiles numpy's and
    onnxruntime's sources on every cold start: 2.4 s against 0.8 s for the data plane's init
    (bench/cold_start.py). unchecked-hash: the zip's timestamps are not the sources' any more."""
    if sys.version_info[:2] != LAMBDA_PYTHON:
        print(f"layer {target.parent.name}: no bytecode (CPython {sys.version_info.major}.{sys.version_info.minor} here, not 3.12)")
        return False
    command = [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)]
    subprocess.run(command, check=True)
    return True


def host_site_dir(requirements: Path) -> Path:
    """Where the host build of a requirements file lives: named by its content, so equal pins share one."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    return HOST_BUILDS / digest / "python"


def build_host(requirements: Path, drop_runtime_packages: bool = True) -> Path:
    """The host-platform site directory for a requirements file (built once per content)."""
    target = host_site_dir(requirements)
    stamp = target.parent / "build.stamp"
    if stamp.exists():
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    target.mkdir(parents=True)
    _pip_install(requirements, target, ["--only-binary=:all:"])
    prune(target, drop_runtime_packages=drop_runtime_packages)
    (target.parent / REQUIREMENTS_FILE).write_bytes(requirements.read_bytes())
    stamp.write_text("built\n")
    return target


def runtime_site_dir() -> Path:
    """What the Lambda runtime puts on every function's path, built for this host."""
    return build_host(requirements_of("runtime"), drop_runtime_packages=False)


def _pip_install(requirements: Path, target: Path, extra: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    subprocess.run([*command, "--target", str(target), *extra, "-r", str(requirements)], check=True)


def prune(target: Path, drop_runtime_packages: bool) -> None:
    if drop_runtime_packages:
        for path in list(target.iterdir()):
            distribution = path.name.split("-")[0].replace("python_", "")
            if path.name in PROVIDED_BY_RUNTIME or distribution in PROVIDED_BY_RUNTIME:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_dir() and path.name in PRUNE_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in PRUNE_SUFFIXES:
            path.unlink()


def size_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


if __name__ == "__main__":
    for layer in sys.argv[1:] or (*ZIP_LAYERS, *HOST_ONLY):
        if layer in ZIP_LAYERS:
            built = build(layer)
            print(f"layer {layer}: {size_bytes(built) / 1e6:.1f} MB unzipped at {built}")
        host = build_host(requirements_of(layer), drop_runtime_packages=layer != "runtime")
        print(f"layer {layer} (host, for local mode): {size_bytes(host) / 1e6:.1f} MB at {host}")
