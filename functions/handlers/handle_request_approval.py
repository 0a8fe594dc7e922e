"""Manual approval: registers the candidate as pending with the task token the pipeline waits on.

POST /models/{model}/versions/{v}/approve or /reject answers the token.
"""

from mlops import releases
from mlops.observability import pipeline_step
from mlops.stores import registry


@pipeline_step
def lambda_handler(event, context):
    return releases.request_approval(event["state"], event["token"], registry())
