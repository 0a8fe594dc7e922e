"""Builds the zip layers for the Lambda platform (arm64, python3.12) without Docker.

pip installs manylinux aarch64 wheels for CPython 3.12 into layers/<name>/build/python, then drops
what Lambda never imports (tests, caches, type stubs) to keep the unzipped size down.
Usage: python layers/build.py [name ...]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
ZIP_LAYERS = ("common", "serving")
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
PRUNE_DIRS = ("__pycache__", "tests")
PRUNE_SUFFIXES = (".pyi", ".pyc")
# The Lambda Python runtime ships these; a layer copy would only shadow the runtime's.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six", "six.py")


def build(name: str) -> Path:
    requirements = LAYERS_DIR / name / "requirements.txt"
    target = LAYERS_DIR / name / "build" / "python"
    stamp = LAYERS_DIR / name / "build.stamp"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return target.parent
    shutil.rmtree(target.parent, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(target),
            *PLATFORM_ARGS,
            "-r",
            str(requirements),
        ],
        check=True,
    )
    prune(target)
    stamp.write_text(requirements.read_text())
    return target.parent


def prune(target: Path) -> None:
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
    for layer in sys.argv[1:] or ZIP_LAYERS:
        built = build(layer)
        print(f"layer {layer}: {size_bytes(built) / 1e6:.1f} MB unzipped at {built}")
