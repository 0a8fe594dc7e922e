"""The batch inference state machine's steps (see mlops.batch): resolve the job, score one file."""

from mlops import batch
from mlops.aws import client
from mlops.observability import pipeline_step
from mlops.settings import get_settings
from mlops.stores import registry, session_cache, spec_store


@pipeline_step
def lambda_handler(event, context):
    if event["action"] == "resolve":
        return batch.resolve(event["job"], registry(), get_settings().data_bucket)
    item = event["item"]
    _, spec = spec_store().current(item["model"])
    session = session_cache().get(item["model"], int(item["version"]), registry().version)
    return batch.score_file(item, spec, session, client("s3"))
