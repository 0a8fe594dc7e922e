"""The batch inference state machine's steps (see mlops.serving.batch): resolve the job, score one file."""

from mlops.data.spec_store import pinned_spec, spec_store
from mlops.registry.versions import registry
from mlops.serving import batch
from mlops.serving.predictor import session_cache
from mlops.shared import settings as env
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings, require

# Checked at cold start: a function deployed without one of these stops here, naming it.
require(env.ENV_AUDIT_TABLE, env.ENV_DATA_BUCKET, env.ENV_MODELS_TABLE)


@pipeline_step
def lambda_handler(event, context):
    if event["action"] == "resolve":
        return batch.resolve(event["job"], registry(), get_settings().data_bucket)
    item = event["item"]
    spec = pinned_spec(spec_store(), item["model"], registry().version(item["model"], int(item["version"])))
    session = session_cache().get(item["model"], int(item["version"]), registry().version)
    return batch.score_file(item, spec, session, client("s3"))
