"""Resolves the CloudFormation intrinsic functions a CDK template uses, against deployed values."""

from __future__ import annotations

import base64
import re
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
NO_VALUE = object()
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedReference(KeyError):
    """A Ref or GetAtt named something not deployed (yet): a bug in the order or a missing translator."""


class Resolver:
    def __init__(
        self, stack_name: str, parameters: dict[str, Any], conditions: dict[str, Any], mappings: dict[str, Any] | None = None
    ) -> None:
        self.mappings = mappings or {}
        self.refs: dict[str, Any] = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::NoValue": NO_VALUE,
            **parameters,
        }
        self.attributes: dict[str, dict[str, Any]] = {}
        self._condition_definitions = conditions
        self._conditions: dict[str, bool] = {}

    def record(self, logical_id: str, ref: Any, attributes: dict[str, Any]) -> None:
        self.refs[logical_id] = ref
        self.attributes[logical_id] = attributes

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self._condition_definitions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, argument)
        resolved = {key: self.resolve(inner) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name not in self.refs:
            raise UnresolvedReference(f"Ref {name} is not deployed")
        return self.refs[name]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise UnresolvedReference(f"Fn::GetAtt {logical_id}.{attribute} is not known") from None

    def substitute(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], self.resolve(argument[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _get_att(resolver: Resolver, argument: Any) -> Any:
    logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
    return resolver.get_att(logical_id, resolver.resolve(attribute))


def _join(resolver: Resolver, argument: list[Any]) -> str:
    delimiter, values = argument
    return delimiter.join(str(v) for v in resolver.resolve(values))


def _select(resolver: Resolver, argument: list[Any]) -> Any:
    index, values = resolver.resolve(argument)
    return values[int(index)]


def _split(resolver: Resolver, argument: list[Any]) -> list[str]:
    delimiter, text = resolver.resolve(argument)
    return str(text).split(delimiter)


def _if(resolver: Resolver, argument: list[Any]) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


def _equals(resolver: Resolver, argument: list[Any]) -> bool:
    left, right = resolver.resolve(argument)
    return bool(left == right)


_FUNCTIONS = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": lambda r, a: r.substitute(a),
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(a)),
    "Fn::Or": lambda r, a: any(r.resolve(a)),
    "Condition": lambda r, a: r.condition(a),
    "Fn::Base64": lambda r, a: base64.b64encode(str(r.resolve(a)).encode()).decode(),
    "Fn::FindInMap": lambda r, a: r.mappings[r.resolve(a[0])][r.resolve(a[1])][r.resolve(a[2])],
    "Fn::GetAZs": lambda r, a: [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
}


def references(value: Any) -> set[str]:
    """Logical ids a property value refers to (for ordering the deploy)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {name.split(".", 1)[0] for name in SUB_VARIABLE.findall(text)}
                if not isinstance(inner, str):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    return {name for name in found if not name.startswith("AWS::")}
