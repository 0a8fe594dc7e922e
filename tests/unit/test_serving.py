"""Serving without AWS: record validation, variant routing, the integrity check, the fallback."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.api import REQUIRED_ENVIRONMENT
from mlops.serving import predictor
from tests.unit.fakes import FakeS3
from tests.unit.specs import churn_spec

ROOT = Path(__file__).resolve().parents[2]


def test_records_become_rows_in_spec_order():
    rows = predictor.validate_records(churn_spec(), [{"plan": "pro", "tenure_months": 3, "monthly_charges": None}])
    assert rows == [["3.0", "", "pro"]]


def test_every_bad_field_is_reported_with_its_location():
    with pytest.raises(predictor.InvalidRecords) as raised:
        predictor.validate_records(churn_spec(), [{"tenure_months": True, "plan": 5}, {"tenure_months": 1e9, "plan": "basic", "x": 1}])
    messages = {tuple(e["loc"]): e["msg"] for e in raised.value.errors}
    assert messages[("body", "records", 0, "tenure_months")] == "True is not a finite number"
    assert messages[("body", "records", 0, "plan")] == "5 is not a string"
    assert messages[("body", "records", 1, "tenure_months")] == "1000000000.0 is above the maximum 600.0"
    assert messages[("body", "records", 1)] == "unknown fields ['x']"


def test_routing_is_sticky_by_key_and_follows_the_share():
    aliases = {"champion": 1, "challenger": 2}
    policy = {"challenger_percent": 30}
    routes = [predictor.choose_variant(policy, aliases, f"k{i}", "m").variant for i in range(2000)]
    assert routes == [predictor.choose_variant(policy, aliases, f"k{i}", "m").variant for i in range(2000)]
    assert 0.25 < routes.count("challenger") / len(routes) < 0.35
    assert predictor.choose_variant({"challenger_percent": 100}, {"champion": 1}, "k", "m").variant == "champion"
    with pytest.raises(predictor.NoModel, match="has no champion yet"):
        predictor.choose_variant({}, {}, None, "m")


def test_an_artifact_that_does_not_match_its_hash_is_never_loaded():
    data = b"not really onnx"
    version = {"version": 3, "artifact": {"bucket": "b", "key": "m.onnx", "sha256": hashlib.sha256(b"other").hexdigest()}}
    with pytest.raises(predictor.ArtifactTampered, match="does not match its recorded SHA-256"):
        predictor.SessionCache(FakeS3({"m.onnx": data})).get("m", 3, lambda model, number: version)


class FakeState:
    """What the predictor reads from the models table: aliases, policy, versions and spec documents."""

    def __init__(self, aliases, specs, percent=0):
        self.aliases, self.specs, self.percent = aliases, specs, percent

    def routing(self, model):
        return self.aliases, {"challenger_percent": self.percent}

    def version(self, model, number):
        return {"version": number, "spec_version": number if number in self.specs else 1}

    def spec_document(self, model, number):
        return self.specs[number].model_dump(mode="json")


def test_a_challenger_that_cannot_load_falls_back_to_the_champion(monkeypatch):
    class Sessions:
        def get(self, model, number, lookup):
            if lookup(model, number)["version"] == 2:
                raise predictor.ArtifactTampered("broken")
            return "champion-session"

    router = predictor.Predictor(FakeState({"champion": 1, "challenger": 2}, {1: churn_spec()}, percent=100), Sessions())
    monkeypatch.setattr(predictor, "answers", lambda session, inputs, classification: [{"label": session}])
    answer = router.predict("m", [{"tenure_months": 1, "monthly_charges": 2, "plan": "pro"}], None)
    assert (answer.variant, answer.version, answer.fell_back, answer.results) == ("champion", 1, True, [{"label": "champion-session"}])


# What the API function's cold start requires to be set (values do not matter for an import).
API_ENVIRONMENT = {name: "unused" for name in REQUIRED_ENVIRONMENT}


def test_the_serving_path_never_imports_the_training_stack():
    heavy = "{'sklearn', 'scipy', 'pandas', 'skl2onnx'}"
    code = f"import sys; import handlers.handle_api; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT / "functions",
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(ROOT / "functions"), **API_ENVIRONMENT},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_version_serves_with_the_spec_it_was_trained_on_not_the_current_one(monkeypatch):
    # Given v1 trained on spec 1 (three features) and a newer spec 2 that reorders them and adds one
    spec_1 = churn_spec()
    document = spec_1.model_dump(mode="json")
    document["features"] = [*reversed(document["features"]), {"name": "support_calls", "type": "numeric"}]
    spec_2 = type(spec_1).model_validate(document)
    seen = []
    monkeypatch.setattr(predictor, "answers", lambda session, inputs, classification: seen.append(inputs) or [{"label": "yes"}])
    record = {"tenure_months": 1, "monthly_charges": 2, "plan": "pro"}

    class Sessions:
        def get(self, model, number, lookup):
            return f"v{number}"

    # When v1 serves after spec 2 was registered
    predictor.Predictor(FakeState({"champion": 1}, {1: spec_1, 2: spec_2}), Sessions()).predict("m", [record], None)
    # Then v1 gets its own three columns in its own order
    assert seen[-1]["numeric"].tolist() == [[1.0, 2.0]] and seen[-1]["categorical"].tolist() == [["pro"]]

    # And once v2 (trained on spec 2) is champion, it wants spec 2's schema: the old record lacks a feature
    v2 = predictor.Predictor(FakeState({"champion": 2}, {1: spec_1, 2: spec_2}), Sessions())
    with pytest.raises(predictor.InvalidRecords):
        v2.predict("m", [record], None)
    v2.predict("m", [{**record, "support_calls": 3}], None)
    assert seen[-1]["numeric"].tolist() == [[2.0, 1.0, 3.0]] and seen[-1]["categorical"].tolist() == [["pro"]]


def test_routing_is_cached_and_a_restore_reads_it_afresh_with_the_new_client():
    from mlops.serving.state import ServingState

    class Dynamo:
        def __init__(self):
            self.reads = 0

        def get_item(self, **_):
            self.reads += 1
            return {"Item": {"champion": {"N": "3"}, "traffic": {"M": {"challenger_percent": {"N": "0"}}}}}

    # Given routing read once and cached
    before, after = Dynamo(), Dynamo()
    state = ServingState(before, "models")
    assert state.routing("m") == ({"champion": 3}, {"challenger_percent": 0}) and state.routing("m")[0] == {"champion": 3}
    assert before.reads == 1
    # When a SnapStart restore hands it a new client, then the next request reads through that one
    state.reset(after)
    state.routing("m")
    assert (before.reads, after.reads) == (1, 1)


def test_the_bounded_cache_drops_the_least_recently_used_by_count_and_by_weight():
    from mlops.serving.bounded import BoundedCache

    cache = BoundedCache(max_items=3, max_weight=10)
    for key in "abc":
        cache.put(key, key.upper(), weight=2)
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D", weight=2)
    assert (cache.get("b"), len(cache)) == (None, 3)  # b was the least recently used
    cache.put("e", "E", weight=7)  # 2 + 2 + 2 + 7 > 10: the oldest go until it fits
    assert [cache.get(k) for k in "acde"] == [None, None, "D", "E"] and cache.weight == 9
    cache.put("f", "F", weight=50)  # alone over the bound, the newest still stays
    assert (cache.get("f"), len(cache)) == ("F", 1)


def test_a_warm_lambdas_sessions_stay_bounded_however_many_versions_it_serves():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    )
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()
    version = {"artifact": {"bucket": "b", "key": "m.onnx", "sha256": hashlib.sha256(data).hexdigest()}, "version": 1}
    sessions = predictor.SessionCache(FakeS3({"m.onnx": data}), max_sessions=4, max_bytes=3 * len(data))
    for number in range(1, 50):
        sessions.get("m", number, lambda model, n: version)
    assert len(sessions) == 3  # the byte bound binds before the count
