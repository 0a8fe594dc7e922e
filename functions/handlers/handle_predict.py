"""The data-plane Lambda: POST /models/{model}/predict and /feedback (mlops.serving.dataplane).

Its init imports onnxruntime, numpy and boto3, builds the clients and loads the champions (up to
predictor.WARM_LIMIT models), so the first request pays for none of it. With SnapStart that state
is in the snapshot; after a restore the clients, the routing cache and the random generator are
made anew (connections, credentials, a cached policy and a PRNG state must not be shared by every
environment restored from one snapshot).
"""

from mlops.serving import dataplane, predictor
from mlops.shared import variables
from mlops.shared.variables import require_set

# Checked at cold start: a function deployed without one of these stops here, naming it.
require_set(variables.ENV_MODELS_TABLE)

service = dataplane.data_plane()
service.predictor.warm_champions()

try:  # the SnapStart runtime hook library is part of Lambda's Python runtime, not of this package
    from snapshot_restore_py import register_after_restore

    register_after_restore(predictor.after_restore)
except ImportError:
    pass


def lambda_handler(event, context):
    return service.handle(event)
