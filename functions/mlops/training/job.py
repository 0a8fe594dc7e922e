"""The training image as a SageMaker training job: `python3 -m mlops.training.job`.

It follows SageMaker's container contract. It reads its hyper-parameters from
/opt/ml/input/config/hyperparameters.json and the run's state from the `state` channel
(/opt/ml/input/data/state/state.json), fits with the same code as the Lambda steps
(mlops.training.trainer), and leaves its result in /opt/ml/model, which SageMaker uploads as
model.tar.gz. A failure is written to /opt/ml/output/failure, which SageMaker reports as the job's
FailureReason, and the process exits non-zero. The final fit's estimator is also saved to
/opt/ml/checkpoints: after a spot interruption SageMaker restores that folder and the restarted job
skips the fit.

OPT_ML_DIR moves /opt/ml elsewhere (local mode runs the job as a process on the host).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any

from mlops.shared.aws import client
from mlops.training import trainer
from mlops.training.training_jobs import ESTIMATOR_FILE, STATE_CHANNEL, STATE_FILE, TRAINING_FILE, TRIAL_FILE

# SageMaker truncates FailureReason at 1,024 characters.
MAX_FAILURE_REASON = 1024


def run(root: Path, s3: Any) -> None:
    hyperparameters = json.loads((root / "input" / "config" / "hyperparameters.json").read_text())
    state = json.loads((root / "input" / "data" / STATE_CHANNEL / STATE_FILE).read_text())
    model_dir = root / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    kind = hyperparameters.get("kind")
    if kind == "trial":
        fitted = trainer.fit_trial(state, json.loads(hyperparameters["hyperparameters"]), s3)
        (model_dir / TRIAL_FILE).write_text(json.dumps(fitted))
    elif kind == "train":
        estimator, trained = _fit_or_restore(root / "checkpoints", state, s3)
        (model_dir / ESTIMATOR_FILE).write_bytes(estimator)
        (model_dir / TRAINING_FILE).write_text(json.dumps(trained))
    else:
        raise ValueError(f"hyper-parameter kind must be train or trial, not {kind!r}")


def _fit_or_restore(checkpoints: Path, state: dict[str, Any], s3: Any) -> tuple[bytes, dict[str, Any]]:
    if (checkpoints / ESTIMATOR_FILE).is_file() and (checkpoints / TRAINING_FILE).is_file():
        print("restored the fitted estimator from /opt/ml/checkpoints", flush=True)
        return (checkpoints / ESTIMATOR_FILE).read_bytes(), json.loads((checkpoints / TRAINING_FILE).read_text())
    model, trained = trainer.fit_final(state, s3)
    estimator = pickle.dumps(model)
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / ESTIMATOR_FILE).write_bytes(estimator)
    (checkpoints / TRAINING_FILE).write_text(json.dumps(trained))
    return estimator, trained


def main() -> int:
    root = Path(os.environ.get("OPT_ML_DIR", "/opt/ml"))
    try:
        run(root, client("s3"))
    except Exception as error:
        traceback.print_exc()
        (root / "output").mkdir(parents=True, exist_ok=True)
        (root / "output" / "failure").write_text(f"{type(error).__name__}: {error}"[:MAX_FAILURE_REASON])
        return 1
    print("training job finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
