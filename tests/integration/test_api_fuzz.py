"""Property-based fuzzing of the API (hypothesis) against moto, with a real ONNX champion serving.

Bodies are drawn from anything JSON can say (and some things it cannot) for every route that takes
one; the API must answer every one of them with a 2xx or a documented 4xx, never a 5xx, and a 422
must say which field is at fault. The champion must still answer afterwards.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops import api
from tests.api_events import proxy_event
from tests.integration.conftest import SERVED_MODEL

MODEL = SERVED_MODEL
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
FEATURE_VALUES = st.one_of(JSON, st.sampled_from(["basic", "plus", "pro", "", "=1+1"]), st.floats(-1e9, 1e9), st.integers(-5, 700))
RECORD = st.dictionaries(st.sampled_from(["tenure_months", "monthly_charges", "plan", "extra"]), FEATURE_VALUES, max_size=4)
ROUTES = [
    ("POST", f"/models/{MODEL}/predict", st.one_of(JSON, st.fixed_dictionaries({"records": st.lists(RECORD, max_size=3)}))),
    ("POST", f"/models/{MODEL}/feedback", st.one_of(JSON, st.fixed_dictionaries({"prediction_id": st.text(max_size=40), "actual": JSON}))),
    ("PUT", f"/models/{MODEL}/traffic", st.one_of(JSON, st.fixed_dictionaries({"challenger_percent": JSON, "expected_revision": JSON}))),
    ("POST", f"/models/{MODEL}/batch", st.one_of(JSON, st.fixed_dictionaries({"prefix": st.text(max_size=30)}))),
    ("PUT", "/models/fuzzed", JSON),
    ("POST", f"/models/{MODEL}/rollback", JSON),
]
DOCUMENTED = {200, 201, 202, 400, 404, 409, 413, 422}


def call(method: str, path: str, body: str | None) -> tuple[int, object]:
    response = api.app.resolve(proxy_event(method, path, body), None)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def assert_answered(status: int, answer: object) -> None:
    assert status in DOCUMENTED, (status, answer)
    if status == 422:
        assert isinstance(answer, dict) and answer["detail"] and all("loc" in e for e in answer["detail"]), answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_no_body_makes_the_api_answer_5xx(serving, route, data):
    method, path, bodies = route
    body = json.dumps(data.draw(bodies))
    assert_answered(*call(method, path, body))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), raw=st.one_of(st.text(max_size=50), st.sampled_from(["", "{", "[1,", "null", '{"records": null}'])))
def test_bodies_that_are_not_json_are_4xx(serving, route, raw):
    method, path, _ = route
    assert_answered(*call(method, path, raw))


def test_after_the_fuzzing_the_champion_still_answers(serving):
    # The same stores the fuzzing hits (one fixture for the whole test, not a fresh mock): every route
    # fuzzed, then the champion must answer as before and its model's state must be intact
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(route=st.sampled_from(ROUTES), data=st.data())
    def fuzz(route, data):
        method, path, bodies = route
        assert_answered(*call(method, path, json.dumps(data.draw(bodies))))

    before = call("GET", f"/models/{MODEL}/traffic", None)
    fuzz()
    status, answer = call(
        "POST", f"/models/{MODEL}/predict", json.dumps({"records": [{"tenure_months": 3, "monthly_charges": 80, "plan": "pro"}]})
    )
    assert status == 200 and answer["version"] == 1 and answer["predictions"][0]["label"] in ("yes", "no")
    after = call("GET", f"/models/{MODEL}/traffic", None)
    assert after[0] == 200 and after[1]["aliases"] == before[1]["aliases"] == {"champion": 1}
