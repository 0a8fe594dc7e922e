"""Schema-driven fuzzing (schemathesis) of the API against the OpenAPI document it serves: every
answer, for every operation, conforms to the document (status codes, content types, bodies) and
none is a 5xx. The API runs in-process over moto, with a real ONNX champion."""

import io
import re
from http import HTTPStatus
from urllib.parse import parse_qsl

import schemathesis
from hypothesis import HealthCheck, settings

from mlops import api
from mlops.serving.dataplane import DataPlane
from mlops.serving.predictor import predictor
from tests.api_events import proxy_event

DATA_PLANE = re.compile(r"^/models/(?P<model>[^/]+)/(predict|feedback)$")


def _wsgi(environ, start_response):
    """API Gateway's REST proxy, as a WSGI app for schemathesis: POST predict and feedback to the
    data-plane function, everything else to the control plane's resolver (infra/constructs/serving_construct.py)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode(errors="replace") if length else None
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)) or None
    event = proxy_event(environ["REQUEST_METHOD"], environ["PATH_INFO"], body, query)
    routed = DATA_PLANE.match(environ["PATH_INFO"]) if environ["REQUEST_METHOD"] == "POST" else None
    if routed:
        answer = DataPlane(predictor(), io.StringIO()).handle({**event, "pathParameters": {"model": routed["model"]}})
    else:
        answer = api.app.resolve(event, None)
    status = answer["statusCode"]
    headers = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
    headers += [(k, str(v)) for k, values in (answer.get("multiValueHeaders") or {}).items() for v in values]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [(answer.get("body") or "").encode()]


schema = schemathesis.openapi.from_wsgi("/openapi.json", _wsgi)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_served_document(case, serving):  # noqa: F811
    # Left out, on purpose: "schema-valid data is accepted", since some requests the schema allows
    # are refused with a 4xx naming the field by rules a static schema cannot state (a batch prefix
    # of another model, a label outside the spec's classes, a stale revision); and "no 5xx", checked
    # here instead: the one 5xx the API gives is its documented 503, no version deployed yet.
    response = case.call()
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance, schemathesis.checks.not_a_server_error])
    assert response.status_code < 500 or (response.status_code == 503 and "no champion" in response.text), response.text
