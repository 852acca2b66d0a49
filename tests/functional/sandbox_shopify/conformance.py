"""Checks that a GraphQL response holds exactly what its selection asks, typed as the schema
declares: every selected key present and no other, non-null fields not null, lists as lists,
enums among their values, Shopify's scalars in their formats. Independent of the sandbox's own
execution, so a wrong value anywhere in a response fails the test that received it."""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_operation_ast,
    is_abstract_type,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_variable_values

_FORMATS = {
    "DateTime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
    "Money": re.compile(r"^-?\d+\.\d+$"),
    "Decimal": re.compile(r"^-?\d+\.\d+$"),
    "UnsignedInt64": re.compile(r"^\d+$"),
    "URL": re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.I),
    "ID": re.compile(r"^\S+$"),
}


class Nonconformance(AssertionError):
    """A response value that its selection's type does not allow."""


def check(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: Any,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> None:
    """Raise Nonconformance at the first value that does not conform."""
    operation = get_operation_ast(document, operation_name)
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    assert not isinstance(coerced, list), coerced
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None
    _Checker(schema, fragments, coerced).object(root, [operation.selection_set], data, "data")


class _Checker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, Any], variables: Any) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def object(
        self, type_: GraphQLObjectType, selections: list[SelectionSetNode], data: Any, path: str
    ) -> None:
        if not isinstance(data, dict):
            raise Nonconformance(f"{path}: expected an object of {type_.name}, got {data!r}")
        fields: dict[str, list[Any]] = {}
        for selection_set in selections:
            collected = collect_fields(
                self.schema, self.fragments, self.variables, type_, selection_set
            )
            for key, nodes in collected.items():
                fields.setdefault(key, []).extend(nodes)
        if set(data) != set(fields):
            raise Nonconformance(f"{path}: keys {sorted(data)} != selected {sorted(fields)}")
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                if data[key] != type_.name:
                    raise Nonconformance(f"{path}.{key}: {data[key]!r} is not {type_.name}")
                continue
            definition = type_.fields[name]
            sub = [n.selection_set for n in nodes if n.selection_set is not None]
            self.value(definition.type, sub, data[key], f"{path}.{key}")

    def value(self, type_: Any, selections: list[SelectionSetNode], data: Any, path: str) -> None:
        if isinstance(type_, GraphQLNonNull):
            if data is None:
                raise Nonconformance(f"{path}: null for non-null {type_}")
            self.value(type_.of_type, selections, data, path)
            return
        if data is None:
            return
        if isinstance(type_, GraphQLList):
            if not isinstance(data, list):
                raise Nonconformance(f"{path}: expected a list, got {data!r}")
            for index, item in enumerate(data):
                self.value(type_.of_type, selections, item, f"{path}[{index}]")
            return
        if isinstance(type_, GraphQLEnumType):
            if data not in type_.values:
                raise Nonconformance(f"{path}: {data!r} is not a value of {type_.name}")
            return
        if isinstance(type_, GraphQLScalarType):
            self.scalar(type_.name, data, path)
            return
        if is_abstract_type(type_):
            self.abstract(type_, selections, data, path)
            return
        self.object(type_, selections, data, path)

    def abstract(
        self, type_: Any, selections: list[SelectionSetNode], data: Any, path: str
    ) -> None:
        candidates = self.schema.get_possible_types(type_)
        if isinstance(data, dict) and isinstance(data.get("__typename"), str):
            candidates = [t for t in candidates if t.name == data["__typename"]]
        problems = []
        for candidate in candidates:
            try:
                self.object(candidate, selections, data, path)
                return
            except Nonconformance as problem:
                problems.append(str(problem))
        raise Nonconformance(f"{path}: no type of {type_.name} fits: {problems[:3]}")

    def scalar(self, name: str, data: Any, path: str) -> None:
        ok = {
            "Int": lambda v: (
                isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31
            ),
            "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "Boolean": lambda v: isinstance(v, bool),
            "JSON": lambda v: True,
        }.get(name)
        if ok is not None:
            if not ok(data):
                raise Nonconformance(f"{path}: {data!r} is not a {name}")
            return
        if not isinstance(data, str):
            raise Nonconformance(f"{path}: {data!r} is not a {name} string")
        pattern = _FORMATS.get(name)
        if pattern is not None and not pattern.match(data):
            raise Nonconformance(f"{path}: {data!r} is not in {name} format")
