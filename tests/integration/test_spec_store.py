"""The spec store against DynamoDB in moto: versions are numbered as specs change (the same spec again
is no new version), and a model's spec history reads every page of its query."""

from mlops.data.spec import ModelSpec
from mlops.data.spec_store import SpecStore
from tests.unit.specs import CHURN_SPEC


class OneItemPerPage:
    """The models table as DynamoDB answers once a model's specs pass a page's 1 MB: in pages."""

    def __init__(self, table) -> None:
        self._table = table

    def query(self, **args):
        return self._table.query(**args, Limit=1)

    def __getattr__(self, name):
        return getattr(self._table, name)


def test_the_spec_history_follows_every_page(model_tables):
    models, audit = model_tables
    for description in ("first", "second", "third"):
        SpecStore(models, audit).put("churn", ModelSpec.model_validate({**CHURN_SPEC, "description": description}))
    assert SpecStore(OneItemPerPage(models), audit).history("churn") == [1, 2, 3]


def test_a_changed_spec_is_the_next_version_and_the_same_spec_again_is_none(model_tables):
    store = SpecStore(*model_tables)
    first, changed = ModelSpec.model_validate(CHURN_SPEC), ModelSpec.model_validate({**CHURN_SPEC, "description": "v2"})
    assert store.put("churn", first) == (1, True)
    assert store.put("churn", first) == (1, False)
    assert store.put("churn", changed) == (2, True)
    assert store.put("churn", changed) == (2, False)
    assert store.current("churn") == (2, changed) and store.history("churn") == [1, 2]


class OneItemPerScanPage(OneItemPerPage):
    def scan(self, **args):
        return self._table.scan(**args, Limit=1)


def test_the_model_list_reads_every_page_and_only_states_with_a_spec(model_tables):
    from mlops.registry.versions import STATE_KEY

    models, audit = model_tables
    store = SpecStore(models, audit)
    for name in ("churn", "ads"):
        store.put(name, ModelSpec.model_validate(CHURN_SPEC))
    models.put_item(Item={"model": "orphan", "sk": STATE_KEY, "champion": 1})  # a state without a spec is not a model
    check = {"check_id": "c1", "checked_at": "2026-12-06T00:00:00", "drift": "drift", "drifted_features": ["x"], "performance": None}
    models.update_item(
        Key={"model": "churn", "sk": STATE_KEY},
        UpdateExpression="SET champion = :c, monitoring = :m, traffic = :t",
        ExpressionAttributeValues={":c": 1, ":m": {"latest": {**check, "extra": 1}}, ":t": {"challenger_percent": 10}},
    )
    listed = SpecStore(OneItemPerScanPage(models), audit).models()
    assert [m["model"] for m in listed] == ["ads", "churn"]
    ads, churn = listed
    assert (ads["spec_version"], ads["champion"], ads["challenger_percent"], ads["last_check"]) == (1, None, 0, None)
    assert (churn["champion"], churn["challenger_percent"], churn["last_check"]) == (1, 10, check)


def test_a_version_serves_by_the_spec_it_was_trained_on_not_the_current_one(model_tables):
    from mlops.data.spec_store import pinned_spec
    from mlops.shared.errors import NotFound

    store = SpecStore(*model_tables)
    first, second = ModelSpec.model_validate(CHURN_SPEC), ModelSpec.model_validate({**CHURN_SPEC, "description": "v2"})
    store.put("churn", first)
    store.put("churn", second)
    assert pinned_spec(store, "churn", {"version": 1, "spec_version": 1}) == first
    assert pinned_spec(store, "churn", {"version": 2, "spec_version": "2"}) == second  # as DynamoDB returns numbers
    import pytest

    with pytest.raises(NotFound, match="has no spec version 3"):
        pinned_spec(store, "churn", {"version": 3, "spec_version": 3})
