import json

from local.cloudwatch import emf_metric_data
from local.events import schedule_seconds, target_input

EMF_LINE = json.dumps(
    {
        "_aws": {
            "Timestamp": 1764140000000,
            "CloudWatchMetrics": [
                {"Namespace": "MLOps", "Dimensions": [["service"]], "Metrics": [{"Name": "PipelineRunsFailed", "Unit": "Count"}]}
            ],
        },
        "service": "RecordFailure",
        "PipelineRunsFailed": [1.0, 2.0],
    }
)


def test_emf_lines_become_metric_data_with_their_dimensions():
    data = emf_metric_data(EMF_LINE)
    assert [(d["Namespace"], d["MetricName"], d["Value"]) for d in data] == [
        ("MLOps", "PipelineRunsFailed", 1.0),
        ("MLOps", "PipelineRunsFailed", 2.0),
    ]
    assert data[0]["Dimensions"] == [{"Name": "service", "Value": "RecordFailure"}]


def test_other_log_lines_are_not_metrics():
    assert emf_metric_data('{"level": "INFO", "message": "hello"}') == []
    assert emf_metric_data("plain text") == []


def test_rate_expressions():
    assert schedule_seconds("rate(1 hour)") == 3600
    assert schedule_seconds("rate(5 minutes)") == 300
    assert schedule_seconds("cron(0 12 * * ? *)") is None


EVENT = {"detail": {"bucket": {"name": "b"}, "object": {"key": "datasets/m/x.csv"}}, "source": "aws.s3"}


def test_target_input_forms():
    assert target_input({}, EVENT) == EVENT
    assert target_input({"Input": '{"fixed": true}'}, EVENT) == {"fixed": True}
    assert target_input({"InputPath": "$.detail.bucket"}, EVENT) == {"name": "b"}
    transformer = {"InputPathsMap": {"key": "$.detail.object.key"}, "InputTemplate": '{"dataset": <key>}'}
    assert target_input({"InputTransformer": transformer}, EVENT) == {"dataset": "datasets/m/x.csv"}


def test_a_quoted_placeholder_takes_the_string_as_is():
    transformer = {"InputPathsMap": {"bucket": "$.detail.bucket.name"}, "InputTemplate": '{"b": "s3://<bucket>/"}'}
    assert target_input({"InputTransformer": transformer}, EVENT) == {"b": "s3://b/"}


def test_percentiles_are_nearest_rank_like_cloudwatch():
    from local.cloudwatch import percentile

    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, "p99"), percentile(values, "p50"), percentile([7.0], "p99")) == (99.0, 50.0, 7.0)
