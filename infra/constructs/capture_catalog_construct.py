"""A Glue table over the capture bucket, so people can ask Athena what was served and how well.

One row per captured JSON line (a prediction request or a feedback), partitioned as Firehose
writes it: `model` (injected: every query names its model, as the platform's own readers do) and
`hour` (`YYYY/MM/DD/HH`, projected from the first capture hour on), so no crawler or
`MSCK REPAIR` is needed and a query scans one model's hours only. The README shows queries for
drift and accuracy by version.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_glue as glue
from constructs import Construct

from infra.constructs.storage_construct import StorageConstruct
from mlops.shared import settings as env

TABLE_NAME = "captured"
FIRST_HOUR = "2026/01/01/00"
# The records as mlops.serving.capture writes them; inputs keep each feature's value as text.
COLUMNS = [
    ("kind", "string", "prediction or feedback"),
    ("prediction_id", "string", "joins a feedback with its prediction"),
    ("version", "int", "the model version that answered"),
    ("variant", "string", "champion or challenger"),
    ("at", "string", "when it was served or sent back (ISO 8601, UTC)"),
    ("first_index", "int", "the first record's index in its request (a large request is split)"),
    ("inputs", "array<map<string,string>>", "the records as served, pii dropped or hashed"),
    ("outputs", "array<struct<label:string,value:double,probabilities:map<string,double>>>", "the answers"),
    ("index", "int", "feedback: which record of the request"),
    ("actual", "string", "feedback: the true label or value"),
]


class CaptureCatalogConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, storage: StorageConstruct) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = f"{stack.stack_name.lower().replace('-', '_')}_capture"
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="What the platform's models served, and the feedback sent back"
            ),
        )
        location = f"s3://{storage.capture_bucket.bucket_name}/{env.CAPTURE_PREFIX}"
        table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="Captured predictions and feedback, one row per JSON line; WHERE model = '...' is required",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=env.CAPTURE_PARTITION, type="string", comment="the model"),
                    glue.CfnTable.ColumnProperty(name="hour", type="string", comment="UTC hour of delivery, YYYY/MM/DD/HH"),
                ],
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    f"projection.{env.CAPTURE_PARTITION}.type": "injected",
                    "projection.hour.type": "date",
                    "projection.hour.format": "yyyy/MM/dd/HH",
                    "projection.hour.range": f"{FIRST_HOUR},NOW",
                    "projection.hour.interval": "1",
                    "projection.hour.interval.unit": "HOURS",
                    "storage.location.template": f"{location}{env.CAPTURE_PARTITION}=${{{env.CAPTURE_PARTITION}}}/${{hour}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe", parameters={"ignore.malformed.json": "true"}
                    ),
                    columns=[glue.CfnTable.ColumnProperty(name=name, type=kind, comment=comment) for name, kind, comment in COLUMNS],
                ),
            ),
        )
        table.node.add_dependency(database)
