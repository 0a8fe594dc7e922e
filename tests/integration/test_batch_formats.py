"""Batch scoring takes inputs as lakes export them: the same rows as CSV, .csv.gz and Parquet give the
same predictions, and `NA` in a nullable feature is a missing value, not a refused record."""

import csv
import gzip
import io

import boto3
import pandas as pd
import pytest

from mlops.data.spec import ModelSpec
from mlops.serving import batch
from mlops.serving.predictor import session_cache
from tests.integration.conftest import BUCKET, SERVED_MODEL, SERVED_SPEC

ROWS = "tenure_months,monthly_charges,plan,churned\n" + "".join(
    f"{i},{'NA' if i % 5 == 0 else f'{20 + i}.5'},{['basic', 'pro'][i % 2]},no\n" for i in range(40)
)


def _parquet() -> bytes:
    frame = pd.read_csv(io.StringIO(ROWS), dtype={"plan": "string", "churned": "string"})  # NA read as null, as pandas does
    frame["tenure_months"] = frame["tenure_months"].astype("Int64")
    out = io.BytesIO()
    frame.to_parquet(out, engine="pyarrow", index=False)
    return out.getvalue()


@pytest.mark.parametrize(("name", "body"), [("in.csv.gz", gzip.compress(ROWS.encode())), ("in.parquet", _parquet())])
def test_compressed_and_parquet_inputs_score_as_the_csv_does(serving, registry, name, body):
    s3, spec = boto3.client("s3"), ModelSpec.model_validate(SERVED_SPEC)
    session = session_cache().get(SERVED_MODEL, 1, registry.version)
    scored = {}
    for key, content in ((f"batch/{SERVED_MODEL}/in.csv", ROWS.encode()), (f"batch/{SERVED_MODEL}/{name}", body)):
        s3.put_object(Bucket=BUCKET, Key=key, Body=content)
        assert batch.is_scoreable(key)
        counts = batch.score_file({"bucket": BUCKET, "key": key}, spec, session, s3)
        output = s3.get_object(Bucket=BUCKET, Key=counts["output"])["Body"].read().decode()
        assert (counts["scored"], counts["invalid"], counts["output"]) == (40, 0, f"batch/{SERVED_MODEL}/in.predictions.csv"), output[:600]
        output = s3.get_object(Bucket=BUCKET, Key=counts["output"])["Body"].read().decode()
        scored[key] = [row["predicted_churned"] for row in csv.DictReader(io.StringIO(output))]
    assert len(set(map(tuple, scored.values()))) == 1
