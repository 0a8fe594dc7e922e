"""The batch inference state machine's steps (see mlops.serving.batch): resolve the job, score one file."""

from mlops.data.spec_store import spec_store
from mlops.registry.versions import registry
from mlops.serving import batch
from mlops.serving.predictor import session_cache
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step
from mlops.shared.settings import get_settings


@pipeline_step
def lambda_handler(event, context):
    if event["action"] == "resolve":
        return batch.resolve(event["job"], registry(), get_settings().data_bucket)
    item = event["item"]
    _, spec = spec_store().current(item["model"])
    session = session_cache().get(item["model"], int(item["version"]), registry().version)
    return batch.score_file(item, spec, session, client("s3"))
