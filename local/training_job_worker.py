"""One SageMaker training job's container, as a process: runs `python3 -m <module>` (the job's
ContainerEntrypoint) with the image's code and packages on sys.path and nothing of the host's, its
AWS calls checked against the job's role (local/training_jobs.py starts it).

Usage: training_job_worker.py <module>; LOCAL_CODE_DIR, LOCAL_PYTHON_PATH and LOCAL_IAM_FILE set.
"""

import importlib.util
import os
import runpy
import sys


def _lambda_worker():
    """local/lambda_worker.py by its path (`python -I` puts no script folder on sys.path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lambda_worker.py")
    spec = importlib.util.spec_from_file_location("_local_lambda_worker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    module = sys.argv[1]
    lambda_worker = _lambda_worker()
    lambda_worker.isolate_path(os.environ["LOCAL_CODE_DIR"])
    lambda_worker.enforce_aws_rules(os.environ["LOCAL_IAM_FILE"])
    sys.argv = [module]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
