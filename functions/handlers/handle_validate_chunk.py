"""One item of the validation's Distributed Map: a byte range of the upload validated, its rows,
digests and partial profile left for the merge (see mlops.data.validation_steps.validate_chunk)."""

from mlops.data import validation_steps
from mlops.shared.aws import client
from mlops.shared.observability import pipeline_step


@pipeline_step
def lambda_handler(event, context):
    return validation_steps.validate_chunk(event, event["chunk"], client("s3"))
