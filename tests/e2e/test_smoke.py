"""The deploy workflow's smoke test, run against local mode: what gates production, checked here first."""

import subprocess
import sys

from tests.e2e.conftest import AWS_ENDPOINT, ROOT


def test_the_smoke_lifecycle_passes_against_local_mode(local_stack):
    # When the smoke test drives the stack as the deploy workflow would (with --stage in AWS)
    done = subprocess.run(
        [sys.executable, "-m", "tests.smoke", "--endpoint-url", AWS_ENDPOINT, "--timeout", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    # Then every step passed, from /health to a prediction, and what it uploaded is gone again
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("[ok]") for line in lines) == 7, done.stdout
    assert "[ok] the upload trains: its run SUCCEEDED" in lines and "[ok] the champion predicts" in lines
    assert lines[-1].startswith("cleaned up ") and int(lines[-1].split()[2]) > 0
