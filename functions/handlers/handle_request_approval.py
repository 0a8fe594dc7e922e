"""Manual approval: registers the candidate as pending with the task token the pipeline waits on;
with action "expire" (the wait timed out), marks that version expired.

POST /models/{model}/versions/{v}/approve or /reject answers the token.
"""

from mlops.registry import releases
from mlops.registry.versions import registry
from mlops.shared import settings as env
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_AUDIT_TABLE, env.ENV_MODELS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    if event.get("action") == "expire":
        return releases.expire_approval(event["state"], registry())
    return releases.request_approval(event["state"], event["token"], registry())
