"""The web console in a real headless Chromium (Debian's, through its chromedriver), served by local
mode at /console: every page loads without a console error and shows the quick start's model, runs
and drift; a promote from the page moves the traffic the API reports. Screenshots go to
test-results/console/."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import MLOPS, RESULTS

SHOTS = RESULTS / "console"


def _binary(*names: str) -> str:
    found = next((path for name in names if (path := shutil.which(name))), None)
    if found is None:
        pytest.fail(f"none of {names} is installed: `make browser` installs Debian's chromium and chromium-driver")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_binary("chromedriver")), options=options)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def visit(browser: WebDriver, local_stack, route: str, shot: str) -> str:
    """Opens a console page, waits until it has drawn, saves a screenshot; the page's text."""
    browser.get(f"{local_stack.api_base}/console/{route}")
    return drawn(browser, route, shot)


def drawn(browser: WebDriver, route: str, shot: str) -> str:
    deadline = time.monotonic() + 30
    while browser.execute_script("return document.body.dataset.loaded") != route:
        assert time.monotonic() < deadline, f"{route} did not finish loading"
        time.sleep(0.1)
    browser.save_screenshot(str(SHOTS / f"{shot}.png"))
    problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == [], problems
    return browser.find_element(By.ID, "page").text


def test_every_page_shows_the_lifecycle(browser, local_stack, quick_start):
    model = quick_start.model
    models = visit(browser, local_stack, "#/models", "models")
    assert "cancer" in models and "v1" in models and "v2" in models and "drift" in models

    page = visit(browser, local_stack, f"#/model/{model}", "model")
    assert "champion" in page and "challenger" in page and "mean radius" in page and "logistic_regression" in page

    runs = visit(browser, local_stack, f"#/runs/{model}", "runs")
    assert runs.count("SUCCEEDED") >= 2
    run_links = browser.find_elements(By.CSS_SELECTOR, "#page a[href^='#/run/']")
    first_run = run_links[-1].get_attribute("href").rsplit("/", 1)[-1]
    for box in browser.find_elements(By.CSS_SELECTOR, "#page input[type=checkbox]")[:2]:
        box.click()
    browser.find_element(By.CSS_SELECTOR, "[data-action=compare]").click()
    compared = drawn(browser, browser.execute_script("return location.hash"), "compare")
    assert "roc_auc" in compared and "data version" in compared

    run = visit(browser, local_stack, f"#/run/{first_run}", "run")
    assert "validate" in run and "evaluate" in run
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect")

    drift = visit(browser, local_stack, f"#/drift/{model}", "drift")
    assert "drift" in drift and "worst concavity" in drift
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.feature svg.histogram")) == 30
    assert browser.find_elements(By.CSS_SELECTOR, "svg.verdicts rect.verdict")
    # The label-free estimate with its trend, all features together, and data quality
    assert "Estimated quality before labels (cbpe)" in drift and "All features together" in drift and "Data quality" in drift
    assert browser.find_elements(By.CSS_SELECTOR, "[data-chart=estimate] svg.series circle.current")

    audit = visit(browser, local_stack, f"#/audit/{model}", "audit")
    assert "spec.registered" in audit and "alias.challenger" in audit


def test_a_promote_from_the_page_moves_the_traffic(browser, local_stack, quick_start):
    model = quick_start.model
    assert local_stack.api("GET", f"models/{model}/traffic")[1]["aliases"] == {"champion": 1, "challenger": 2}
    visit(browser, local_stack, f"#/model/{model}", "model-before-promote")

    # The button asks first: cancelling changes nothing
    browser.find_element(By.CSS_SELECTOR, "[data-action=promote]").click()
    assert "Promote v2 of cancer" in browser.find_element(By.ID, "confirm-text").text
    browser.find_element(By.CSS_SELECTOR, "#confirm button[value=cancel]").click()
    assert local_stack.api("GET", f"models/{model}/traffic")[1]["aliases"]["champion"] == 1

    browser.find_element(By.CSS_SELECTOR, "[data-action=promote]").click()
    browser.execute_script("document.body.dataset.loaded = ''")  # so the wait below sees the page drawn again
    browser.find_element(By.ID, "confirm-ok").click()
    page = drawn(browser, f"#/model/{model}", "model-after-promote")

    assert "Done: Promote v2 of cancer" in page
    assert local_stack.api("GET", f"models/{model}/traffic")[1]["aliases"] == {"champion": 2}
    promoted = [r for r in local_stack.api("GET", f"audit?model={model}")[1]["records"] if r["action"] == "traffic.promote"]
    assert promoted and promoted[-1]["detail"].get("by")


def test_the_cli_sees_what_the_page_did_and_rolls_it_back(quick_start):
    cli, model = quick_start.cli, quick_start.model
    assert cli.json("traffic", model)["aliases"] == {"champion": 2}
    watched = cli.json("rollout", "watch", model)  # v2's rollout (manual) ended when the page promoted it
    assert watched["ended"]["detail"]["version"] == 2 and watched["traffic"]["aliases"] == {"champion": 2}
    rolled = cli("rollback", model, "--reason", "back to v1").stdout
    assert "champion v1" in rolled
    assert cli.json("versions", model)["aliases"] == {"champion": 1}


def test_mlops_console_signs_as_its_user_and_for_nobody_else(local_stack, quick_start):
    # Given an application's credentials (the Client policy: predictions and feedback only)
    iam = local_stack.client("iam")
    iam.create_user(UserName="console-client")
    iam.attach_user_policy(UserName="console-client", PolicyArn=local_stack.outputs["ClientPolicyArn"])
    key = iam.create_access_key(UserName="console-client")["AccessKey"]
    as_client = {**quick_start.cli.env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    # When `mlops console` serves with each identity
    with console_server(quick_start.cli.env) as as_root, console_server(as_client) as as_app:
        # Then its pages read what their user may read, and the client is refused as IAM refuses it
        assert fetch(as_root, "/console/api/models")[0] == 200
        assert fetch(as_app, "/console/api/models")[0] == 403
        assert fetch(as_app, "/console/")[0] == 200
        # And a call without the console's header (another origin's page) is never signed
        assert fetch(as_root, "/console/api/models", guard=False)[0] == 403


@contextlib.contextmanager
def console_server(env: dict) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(MLOPS), "console", "--port", str(port), "--no-open"]
    process = subprocess.Popen(command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and "Console for MlopsPlatform" in process.stdout.readline()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(base: str, path: str, guard: bool = True) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, headers={"X-Mlops-Console": "1"} if guard else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
