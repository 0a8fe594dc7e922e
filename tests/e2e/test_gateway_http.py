"""The local gateway over real HTTP: errors are answers, never dropped connections or 500s."""

import http.client

from local.gateway import MAX_BODY_BYTES
from mlops_cli.signing import signed_headers


def test_unknown_api_paths_and_bad_input_get_4xx(local_stack):
    assert local_stack.api("GET", "no/such/route")[0] == 404
    assert local_stack.api("GET", "runs")[0] == 422
    status, body = local_stack.http("POST", local_stack.outputs["ApiUrl"] + "health", b"{not json", {"Content-Type": "application/json"})
    assert 400 <= status < 500


def test_an_oversized_body_is_refused_with_413():
    connection = http.client.HTTPConnection("127.0.0.1", 3000, timeout=30)
    connection.putrequest("POST", "/api/health")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413


def test_keep_alive_serves_many_requests_on_one_connection():
    connection = http.client.HTTPConnection("127.0.0.1", 3000, timeout=30)
    for _ in range(20):
        connection.request("GET", "/api/health", headers=signed_headers("GET", "http://127.0.0.1:3000/api/health"))
        response = connection.getresponse()
        assert response.status == 200 and response.read()
