import pytest

from local.deployer import deploy_order
from local.intrinsics import ACCOUNT_ID, Resolver, UnresolvedReference, references


@pytest.fixture
def resolver() -> Resolver:
    r = Resolver("Stack", parameters={"Stage": "dev"}, conditions={"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}})
    r.record("Bucket", "my-bucket", {"Arn": "arn:aws:s3:::my-bucket"})
    return r


def test_ref_getatt_and_pseudo_parameters(resolver):
    assert resolver.resolve({"Ref": "Bucket"}) == "my-bucket"
    assert resolver.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == "arn:aws:s3:::my-bucket"
    assert resolver.resolve({"Fn::GetAtt": "Bucket.Arn"}) == "arn:aws:s3:::my-bucket"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == ACCOUNT_ID


def test_join_sub_select_split(resolver):
    assert resolver.resolve({"Fn::Join": ["/", [{"Ref": "Bucket"}, "x"]]}) == "my-bucket/x"
    assert resolver.resolve({"Fn::Sub": "${Bucket.Arn}/*"}) == "arn:aws:s3:::my-bucket/*"
    assert resolver.resolve({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Bucket"}}]}) == "my-bucket-us-east-1"
    assert resolver.resolve({"Fn::Sub": "literal ${!NotAVariable}"}) == "literal ${NotAVariable}"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}) == "b"


def test_conditions_and_no_value_drop_properties(resolver):
    value = {"A": {"Fn::If": ["IsDev", "yes", "no"]}, "B": {"Ref": "AWS::NoValue"}, "C": [1, {"Ref": "AWS::NoValue"}]}
    assert resolver.resolve(value) == {"A": "yes", "C": [1]}


def test_an_unknown_reference_is_an_error_not_a_silent_gap(resolver):
    with pytest.raises(UnresolvedReference, match="Missing"):
        resolver.resolve({"Ref": "Missing"})


def test_references_and_deploy_order_put_dependencies_first():
    resources = {
        "Fn": {"Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Env": {"Fn::Sub": "${Table}"}}},
        "Table": {"Properties": {}},
        "Role": {"Properties": {}, "DependsOn": "Table"},
    }
    assert references(resources["Fn"]["Properties"]) == {"Role", "Table"}
    order = deploy_order(resources)
    assert order.index("Table") < order.index("Role") < order.index("Fn")


def test_circular_dependencies_are_reported():
    with pytest.raises(ValueError, match="circular"):
        deploy_order({"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"Properties": {"x": {"Ref": "A"}}}})


def test_find_in_map_reads_the_templates_mappings():
    r = Resolver("Stack", {}, {}, {"Blocks": {"us-east-1": {"Cidr": "10.0.0.0/8"}}})
    assert r.resolve({"Fn::FindInMap": ["Blocks", {"Ref": "AWS::Region"}, "Cidr"]}) == "10.0.0.0/8"
