"""Traffic and rollouts as a person watches them: the split, the A/B test's counts, how it ended.

A rollout audits `rollout.started` and `rollout.ended` (with its outcome), so watching one is
polling the traffic and the audit trail until the version's `rollout.ended` appears.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from mlops_cli.api import Api, segment
from mlops_cli.errors import UserError
from mlops_cli.render import cell, fields, out, table

POLL_S = 2.0


def show_traffic(model: str, answer: dict[str, Any]) -> None:
    policy, aliases = answer["policy"], answer["aliases"]
    fields(
        [
            ("model", model),
            ("champion", aliases.get("champion")),
            ("challenger", aliases.get("challenger")),
            ("challenger share", f"{policy.get('challenger_percent', 0)} %"),
            ("shadow", policy.get("shadow")),
            ("revision", policy.get("revision")),
        ]
    )
    if experiment := answer.get("experiment"):
        show_experiment(experiment)


def show_experiment(experiment: dict[str, Any]) -> None:
    out.print(
        f"A/B test v{experiment['champion_version']} vs v{experiment['challenger_version']}: {experiment['status']} "
        f"({experiment['reason']}); {experiment.get('design', 'fixed')} design, {experiment['required_per_arm']} per arm planned"
    )
    table(
        None,
        ["arm", "n", experiment["metric"], "interval"],
        ([arm, r["n"], r.get("mean"), cell(r.get("interval"))] for arm, r in experiment.get("arms", {}).items()),
    )
    if segments := experiment.get("segments"):
        table(
            f"by {experiment.get('segment')}",
            ["segment", "champion n", "challenger n", "difference", "interval", "p (adjusted)", "verdict"],
            (
                [
                    value,
                    r["champion"]["n"],
                    r["challenger"]["n"],
                    r.get("difference"),
                    r.get("interval"),
                    r.get("p_value_adjusted"),
                    r["verdict"],
                ]
                for value, r in sorted(segments.items())
            ),
        )


def latest_rollout(api: Api, model: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The newest `rollout.started` record and, if it has ended, its `rollout.ended`."""
    records = sorted(api.call("GET", "audit", query={"model": model})["records"], key=lambda r: r["at"])
    started = next((r for r in reversed(records) if r["action"] == "rollout.started"), None)
    if started is None:
        return None, None
    version = started["detail"].get("version")
    ended = next(
        (r for r in records if r["action"] == "rollout.ended" and r["at"] >= started["at"] and r["detail"].get("version") == version), None
    )
    return started, ended


def watch(api: Api, model: str, console: Console, timeout_s: float) -> dict[str, Any]:
    """Prints each change of the split or the test until the rollout ends; its ending and the traffic."""
    started, ended = latest_rollout(api, model)
    if started is None:
        raise UserError(f"{model} has had no rollout: one starts when a new version becomes challenger")
    detail = started["detail"]
    console.print(f"Rollout of {model} v{detail.get('version')} ({detail.get('strategy')}) started {started['at'][:19]}")
    last_seen: tuple[Any, ...] = ()
    deadline = time.monotonic() + timeout_s
    while ended is None:
        if time.monotonic() > deadline:
            raise UserError(f"the rollout of {model} v{detail.get('version')} still runs after {timeout_s:.0f} s")
        current = api.call("GET", f"models/{segment(model)}/traffic")
        experiment = current.get("experiment") or {}
        arms = {arm: r["n"] for arm, r in (experiment.get("arms") or {}).items()}
        seen = (current["policy"].get("challenger_percent"), experiment.get("status"), tuple(sorted(arms.items())))
        if seen != last_seen:
            last_seen = seen
            progress = f", A/B {experiment['status']} {arms} of {experiment['required_per_arm']} per arm" if experiment else ""
            console.print(f"  {time.strftime('%H:%M:%S')} challenger {seen[0]} %{progress}")
        time.sleep(POLL_S)
        started, ended = latest_rollout(api, model)
    traffic = api.call("GET", f"models/{segment(model)}/traffic")
    outcome = ended["detail"]
    console.print(
        f"Rollout of v{outcome.get('version')} ended: {outcome.get('outcome')}"
        f"{' (' + str(outcome['reason']) + ')' if outcome.get('reason') else ''}; champion v{traffic['aliases'].get('champion')}"
    )
    return {"started": started, "ended": ended, "traffic": traffic}
