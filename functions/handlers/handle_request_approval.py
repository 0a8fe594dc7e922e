"""Manual approval: registers the candidate as pending with the task token the pipeline waits on.

POST /models/{model}/versions/{v}/approve or /reject answers the token.
"""

from mlops.registry import releases
from mlops.registry.versions import registry
from mlops.shared.observability import pipeline_step


@pipeline_step
def lambda_handler(event, context):
    return releases.request_approval(event["state"], event["token"], registry())
