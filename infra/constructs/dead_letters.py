"""Dead-letter queues: events EventBridge could not deliver, and asynchronous invocations that
failed after Lambda's retries. Encrypted with the platform's queues key (they name datasets and models)."""

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.encryption import queues_key
from infra.nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=queues_key(scope),
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue.")
    return queue
