"""Dead-letter queues for asynchronous deliveries (EventBridge targets)."""

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue.")
    return queue
