"""Model registry: numbered, immutable model versions per model, their status, aliases, an audit trail.

Items in the models table: (model, "STATE") holds the version counter and the aliases (champion,
challenger); (model, "VERSION#0001") one item per version; (model, "RUN#<run id>") the number a
run's version took, so that registering is idempotent per run. Status moves
pending_approval -> approved | rejected | expired (the approval window closed), and
approved -> champion | challenger -> archived. Every change is a conditional write plus an audit
record, so two writers cannot both win.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from mlops.registry.audit import AuditLog
from mlops.shared.aws import query_all, table
from mlops.shared.errors import Conflict, NotFound
from mlops.shared.items import from_item, now_iso, to_item
from mlops.shared.settings import get_settings

STATE_KEY = "STATE"
VERSION_PREFIX = "VERSION#"
RUN_PREFIX = "RUN#"
PENDING, APPROVED, REJECTED, EXPIRED = "pending_approval", "approved", "rejected", "expired"
CHAMPION, CHALLENGER, ARCHIVED = "champion", "challenger", "archived"


def version_key(number: int) -> str:
    return f"{VERSION_PREFIX}{number:04d}"


def aliases_of(state: dict[str, Any]) -> dict[str, int]:
    """The aliases recorded on a model's state item."""
    return {alias: int(state[alias]) for alias in (CHAMPION, CHALLENGER) if alias in state}


class Registry:
    def __init__(self, models_table: Any, audit_table: Any) -> None:
        self._models = models_table
        self._audit = AuditLog(audit_table)
        self._conflict = models_table.meta.client.exceptions.ConditionalCheckFailedException

    # --- creating versions ------------------------------------------------------------------

    def register(self, model: str, run_id: str, record: dict[str, Any], status: str = APPROVED, by: str = "pipeline") -> dict[str, Any]:
        """Adds a version (its artifact immutable from here on); an approved one takes its alias.

        Idempotent per run: Step Functions retries a step whose answer was lost, and a retry must
        not register the run again under a new number. It finds the run's number, writes the version
        only if an earlier attempt did not, settles it only if it is not settled yet, and gives a
        pending version the retry's task token (each attempt of a waiting Task has its own)."""
        number = self._number_for_run(model, run_id)
        item = {
            "model": model,
            "sk": version_key(number),
            "version": number,
            "run_id": run_id,
            "status": status,
            "created_at": now_iso(),
            **record,
        }
        try:
            self._models.put_item(Item=to_item(item), ConditionExpression="attribute_not_exists(sk)")
            self._audit.record(model, "version.registered", {"version": number, "run_id": run_id, "status": status, "by": by})
        except self._conflict:
            pass  # an earlier attempt of this run wrote it
        current = self.version(model, number)
        if current["status"] == PENDING and "task_token" in record and current.get("task_token") != record["task_token"]:
            # Not audited: a task token answers the pipeline, and the audit trail is readable by every reader.
            self._models.update_item(
                Key={"model": model, "sk": version_key(number)},
                UpdateExpression="SET task_token = :token",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":token": record["task_token"], ":pending": PENDING},
            )
            return self.version(model, number)
        return self.settle(model, number) if current["status"] == APPROVED else current

    def _number_for_run(self, model: str, run_id: str) -> int:
        """The run's version number: the one recorded for it, else the next one, recorded first."""
        key = {"model": model, "sk": f"{RUN_PREFIX}{run_id}"}
        found = self._models.get_item(Key=key, ConsistentRead=True).get("Item")
        if found is not None:
            return int(found["version"])
        number = self._next_number(model)
        try:
            self._models.put_item(Item={**key, "version": number}, ConditionExpression="attribute_not_exists(sk)")
        except self._conflict:  # a concurrent attempt of the same run recorded its number first (this one stays unused)
            return int(self._models.get_item(Key=key, ConsistentRead=True)["Item"]["version"])
        return number

    def settle(self, model: str, number: int) -> dict[str, Any]:
        """An approved version becomes champion when there is none, else challenger for the rollout."""
        if self._claim_alias(model, CHAMPION, number, expected=None):
            self._set_status(model, number, CHAMPION, APPROVED)
        else:
            aliases = self.aliases(model)
            if number in aliases.values():  # a concurrent attempt of the same run settled it
                return self.version(model, number)
            previous = aliases.get(CHALLENGER)
            if self._claim_alias(model, CHALLENGER, number, expected=previous):
                self._set_status(model, number, CHALLENGER, APPROVED)
                if previous is not None:
                    self._set_status(model, previous, ARCHIVED, CHALLENGER)
                    self._drop_share(model, number, replaced=previous)
        return self.version(model, number)

    def _drop_share(self, model: str, number: int, replaced: int) -> None:
        """The traffic share the replaced challenger had is not the new one's: it starts at zero
        (its rollout, or a person, gives it one). A model without a traffic policy has no share."""
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET traffic.challenger_percent = :zero, traffic.revision = traffic.revision + :one",
                ConditionExpression="attribute_exists(traffic) AND challenger = :number AND traffic.challenger_percent > :zero",
                ExpressionAttributeValues={":zero": 0, ":one": 1, ":number": number},
            )
        except self._conflict:
            return
        self._audit.record(
            model, "traffic.policy", {"challenger_percent": 0, "by": "registry", "reason": f"version {number} replaced {replaced}"}
        )

    # --- promotion and rollback -------------------------------------------------------------

    def promote(self, model: str, by: str, reason: str = "", version: int | None = None) -> dict[str, int]:
        """The challenger becomes champion; the old champion is archived and kept for rollback.

        With `version` (a rollout acting for its own challenger) only that version is promoted: if
        another one took the challenger's place meanwhile, nothing changes and Conflict says so."""
        aliases = self.aliases(model)
        if CHALLENGER not in aliases:
            raise Conflict(f"model {model!r} has no challenger to promote")
        old, new = aliases.get(CHAMPION), aliases[CHALLENGER] if version is None else version
        self._swap(model, {CHAMPION: new, "previous_champion": old}, remove=[CHALLENGER], expected={CHAMPION: old, CHALLENGER: new})
        self._set_status(model, new, CHAMPION, CHALLENGER)
        if old is not None:
            self._set_status(model, old, ARCHIVED, CHAMPION)
        self._audit.record(model, "traffic.promote", {"champion": new, "previous": old, "by": by, "reason": reason})
        return self.aliases(model)

    def rollback(self, model: str, by: str, reason: str = "", version: int | None = None) -> dict[str, int]:
        """Drops the challenger; without one, restores the champion that the last promotion replaced.

        With `version` (a rollout undoing its own step) only that challenger is dropped, and never a
        champion restored: a person's promote or rollback during the rollout stands."""
        aliases = self.aliases(model)
        if CHALLENGER in aliases or version is not None:
            dropped = aliases.get(CHALLENGER) if version is None else version
            if dropped is None or aliases.get(CHALLENGER) != dropped:
                raise Conflict(f"version {dropped} is not the challenger of {model!r}; nothing was rolled back")
            self._swap(model, {}, remove=[CHALLENGER], expected={CHALLENGER: dropped})
            self._set_status(model, dropped, ARCHIVED, CHALLENGER, extra={"rolled_back_by": by, "rollback_reason": reason})
            self._audit.record(model, "traffic.rollback", {"dropped_challenger": dropped, "by": by, "reason": reason})
            return self.aliases(model)
        state = self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})
        previous, current = state.get("previous_champion"), aliases.get(CHAMPION)
        if previous is None:
            raise Conflict(f"model {model!r} has neither a challenger nor a previous champion to roll back to")
        previous = int(previous)
        self._swap(model, {CHAMPION: previous}, remove=["previous_champion"], expected={CHAMPION: current})
        self._set_status(model, previous, CHAMPION, ARCHIVED)
        if current is not None:
            self._set_status(model, current, ARCHIVED, CHAMPION, extra={"rolled_back_by": by, "rollback_reason": reason})
        self._audit.record(model, "traffic.rollback", {"champion": previous, "replaced": current, "by": by, "reason": reason})
        return self.aliases(model)

    def _swap(self, model: str, values: dict[str, Any], remove: list[str], expected: dict[str, int | None]) -> None:
        """Changes aliases in one conditional write: it fails if any expected alias moved meanwhile."""
        names, conditions, bound = {}, [], {}
        for i, (alias, value) in enumerate(expected.items()):
            names[f"#e{i}"] = alias
            if value is None:
                conditions.append(f"attribute_not_exists(#e{i})")
            else:
                conditions.append(f"#e{i} = :e{i}")
                bound[f":e{i}"] = value
        sets = []
        for i, (alias, value) in enumerate(values.items()):
            names[f"#s{i}"] = alias
            if value is None:
                remove = [*remove, alias]
            else:
                sets.append(f"#s{i} = :s{i}")
                bound[f":s{i}"] = value
        removes = []
        for i, alias in enumerate(remove):
            names[f"#r{i}"] = alias
            removes.append(f"#r{i}")
        expression = " ".join(
            part for part in (f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else "") if part
        )
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": bound} if bound else {}),
            )
        except self._conflict:
            raise Conflict(f"the aliases of {model!r} changed meanwhile; read them again and retry") from None

    # --- manual approval --------------------------------------------------------------------

    def decide(self, model: str, number: int, approve: bool, by: str, reason: str = "") -> dict[str, Any]:
        """Approves or rejects a pending version; returns it with the task token the pipeline waits on."""
        status = APPROVED if approve else REJECTED
        self._set_status(model, number, status, PENDING, extra={"decided_by": by, "decision_reason": reason, "decided_at": now_iso()})
        return self.version(model, number)

    def expire(self, model: str, number: int, reason: str) -> dict[str, Any] | None:
        """The approval window closed: a version still waiting (or decided after the window, whose
        answer Step Functions refused) becomes expired. None when it had already moved on."""
        try:
            self._models.update_item(
                Key={"model": model, "sk": version_key(number)},
                UpdateExpression="SET #s = :expired, expired_at = :at, expiry_reason = :why",
                ConditionExpression="#s IN (:pending, :approved, :rejected)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":expired": EXPIRED,
                    ":at": now_iso(),
                    ":why": reason,
                    ":pending": PENDING,
                    ":approved": APPROVED,
                    ":rejected": REJECTED,
                },
            )
        except self._conflict:
            return None
        self._audit.record(model, "version.status", {"version": number, "to": EXPIRED, "reason": reason})
        return self.version(model, number)

    def pending_of_run(self, model: str, run_id: str) -> dict[str, Any] | None:
        """The version a run registered for approval, if any."""
        return next((v for v in self.versions(model) if v["run_id"] == run_id and v["status"] == PENDING), None)

    # --- reading ----------------------------------------------------------------------------

    def version(self, model: str, number: int) -> dict[str, Any]:
        item = self._models.get_item(Key={"model": model, "sk": version_key(number)}).get("Item")
        if item is None:
            raise NotFound(f"model {model!r} has no version {number}")
        return from_item(item)

    def versions(self, model: str) -> list[dict[str, Any]]:
        items = query_all(self._models, KeyConditionExpression=Key("model").eq(model) & Key("sk").begins_with(VERSION_PREFIX))
        return [from_item(i) for i in items]

    def aliases(self, model: str) -> dict[str, int]:
        return aliases_of(self._models.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {}))

    def champion(self, model: str) -> int | None:
        return self.aliases(model).get(CHAMPION)

    def champion_version(self, model: str) -> dict[str, Any] | None:
        return champion_record(self._models, model)

    # --- conditional writes -----------------------------------------------------------------

    def _next_number(self, model: str) -> int:
        response = self._models.update_item(
            Key={"model": model, "sk": STATE_KEY},
            UpdateExpression="ADD version_counter :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["version_counter"])

    def _claim_alias(self, model: str, alias: str, number: int, expected: int | None) -> bool:
        condition = "attribute_not_exists(#a)" if expected is None else "#a = :expected"
        values: dict[str, Any] = {":v": number, **({":expected": expected} if expected is not None else {})}
        try:
            self._models.update_item(
                Key={"model": model, "sk": STATE_KEY},
                UpdateExpression="SET #a = :v",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#a": alias},
                ExpressionAttributeValues=values,
            )
        except self._conflict:
            return False
        self._audit.record(model, f"alias.{alias}", {"version": number, "previous": expected})
        return True

    def _set_status(self, model: str, number: int, status: str, expected: str, extra: dict[str, Any] | None = None) -> None:
        names = {"#s": "status", **{f"#{k}": k for k in extra or {}}}
        values = {":s": status, ":expected": expected, **{f":{k}": v for k, v in (extra or {}).items()}}
        assignments = ", ".join(["#s = :s"] + [f"#{k} = :{k}" for k in extra or {}])
        try:
            self._models.update_item(
                Key={"model": model, "sk": version_key(number)},
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except self._conflict:
            raise Conflict(f"version {number} of {model!r} is not {expected}") from None
        self._audit.record(model, "version.status", {"version": number, "from": expected, "to": status, **(extra or {})})


def champion_record(models_table: Any, model: str) -> dict[str, Any] | None:
    """The champion's version record (read only: no audit table needed), or None."""
    number = aliases_of(models_table.get_item(Key={"model": model, "sk": STATE_KEY}).get("Item", {})).get(CHAMPION)
    if number is None:
        return None
    item = models_table.get_item(Key={"model": model, "sk": version_key(number)}).get("Item")
    return from_item(item) if item else None


def registry() -> Registry:
    """The registry over the models and audit tables the environment names."""
    settings = get_settings()
    return Registry(table(settings.models_table), table(settings.audit_table))
