"""Calculated query cost and the leaky bucket, as the GraphQL Admin API limits calls.

Rules (shopify.dev "GraphQL Admin API rate limits", "Cost calculation"): a field returning a
scalar or an enum costs 0, an object 1, an interface or a union the maximum of its possible
selections, a connection 2 plus ``first`` (or ``last``) times the cost of one node, and a
mutation 10. The requested cost is computed before execution from the query; the actual cost
afterwards from what was returned (a null object costs nothing, a connection what it holds).
A single query may not request more than 1000. Each app and shop pair has a bucket of
``maximumAvailable`` points restored at ``restoreRate`` per second: a query needs its requested
cost available, and the difference to its actual cost is refunded after execution.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import collect_fields
from graphql.utilities import value_from_ast

MAX_QUERY_COST = 1000
MUTATION_COST = 10
CONNECTION_BASE = 2


def is_connection(type_: Any) -> bool:
    """Whether a named type is a Relay connection (``...Connection`` with edges and pageInfo)."""
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Connection")
        and "edges" in type_.fields
        and "pageInfo" in type_.fields
    )


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, Any]
    variables: dict[str, Any]

    def selection(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode, data: Any, actual: bool
    ) -> int:
        fields = collect_fields(self.schema, self.fragments, self.variables, parent, selection_set)
        total = 0
        for key, nodes in fields.items():
            node = nodes[0]
            definition = _field(parent, node.name.value)
            if definition is None:
                continue
            value = data.get(key) if isinstance(data, dict) else None
            total += self.field(definition, nodes, value, actual)
        return total

    def children(self, type_: Any, nodes: list[FieldNode], data: Any, actual: bool) -> int:
        """Cost of the sub-selection of one object (or the max over an abstract type's)."""
        if is_abstract_type(type_):
            possible = self.schema.get_possible_types(type_)
            if actual and isinstance(data, dict) and "__typename" in data:
                chosen = self.schema.get_type(data["__typename"])
                possible = [chosen] if isinstance(chosen, GraphQLObjectType) else possible
            return max((self.merged(t, nodes, data, actual) for t in possible), default=0)
        return self.merged(type_, nodes, data, actual)

    def merged(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], data: Any, actual: bool
    ) -> int:
        return sum(
            self.selection(parent, node.selection_set, data, actual)
            for node in nodes
            if node.selection_set is not None
        )

    def field(
        self, definition: GraphQLField, nodes: list[FieldNode], data: Any, actual: bool
    ) -> int:
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if actual and data is None:
            return 0
        if is_connection(named):
            assert isinstance(named, GraphQLObjectType)
            return CONNECTION_BASE + self.connection(named, definition, nodes, data, actual)
        size = self.size(definition, nodes[0]) if _is_list(definition.type) else None
        if actual and isinstance(data, list):
            return sum(1 + self.children(named, nodes, item, actual) for item in data)
        return (size or 1) * (1 + self.children(named, nodes, data, actual))

    def connection(
        self,
        named: GraphQLObjectType,
        definition: GraphQLField,
        nodes: list[FieldNode],
        data: Any,
        actual: bool,
    ) -> int:
        """first/last times the cost of one node (its edges' node or its nodes)."""
        edge_type = get_named_type(named.fields["edges"].type)
        node_type = get_named_type(edge_type.fields["node"].type)  # type: ignore[union-attr,unused-ignore]
        inner = collect_fields(self.schema, self.fragments, self.variables, named, _merge(nodes))
        if actual:
            items = _connection_items(data, inner)
            return sum(self.node_cost(node_type, inner, item, actual) for item in items)
        one = self.node_cost(node_type, inner, None, actual)
        return (self.size(definition, nodes[0]) or 0) * one

    def node_cost(
        self, node_type: Any, inner: dict[str, list[FieldNode]], item: Any, actual: bool
    ) -> int:
        cost = 0
        for key, field_nodes in inner.items():
            name = field_nodes[0].name.value
            if name == "nodes":
                node_data = item.get("node") if isinstance(item, dict) else None
                cost = max(cost, 1 + self.children(node_type, field_nodes, node_data, actual))
            elif name == "edges":
                edge_nodes = [
                    sel
                    for fn in field_nodes
                    if fn.selection_set is not None
                    for sel in fn.selection_set.selections
                    if isinstance(sel, FieldNode) and sel.name.value == "node"
                ]
                if edge_nodes:
                    node_data = item.get("node") if isinstance(item, dict) else None
                    cost = max(cost, 1 + self.children(node_type, edge_nodes, node_data, actual))
            del key
        return cost

    def size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        """The ``first`` or ``last`` argument given to a field, if any."""
        for argument in node.arguments:
            if argument.name.value in ("first", "last"):
                value = value_from_ast(
                    argument.value, definition.args[argument.name.value].type, self.variables
                )
                if isinstance(value, int):
                    return max(0, value)
        return None


def _merge(nodes: list[FieldNode]) -> SelectionSetNode:
    selections = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
    return SelectionSetNode(selections=tuple(selections))


def _connection_items(data: Any, inner: dict[str, list[FieldNode]]) -> list[Any]:
    """What a returned connection holds: its edges (each with its node) or its nodes."""
    if not isinstance(data, dict):
        return []
    for key, field_nodes in inner.items():
        if field_nodes[0].name.value == "edges" and isinstance(data.get(key), list):
            return list(data[key])
    for key, field_nodes in inner.items():
        if field_nodes[0].name.value == "nodes" and isinstance(data.get(key), list):
            return [{"node": item} for item in data[key]]
    return []


def _is_list(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def _field(parent: GraphQLObjectType, name: str) -> GraphQLField | None:
    found: GraphQLField | None = parent.fields.get(name)
    return found


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, Any],
    variables: dict[str, Any],
    data: Any = None,
    actual: bool = False,
) -> int:
    """The requested cost of an operation or, with ``actual`` and its ``data``, the actual."""
    if operation.operation == OperationType.MUTATION:
        root = schema.mutation_type
        assert root is not None
        fields = collect_fields(schema, fragments, variables, root, operation.selection_set)
        if actual:
            return MUTATION_COST * sum(
                1 for key in fields if isinstance(data, dict) and data.get(key) is not None
            )
        return MUTATION_COST * len(fields)
    root = schema.query_type
    assert root is not None
    return _Walk(schema, fragments, variables).selection(
        root, operation.selection_set, data, actual
    )


# ------------------------------------------------------------------------- bucket
@dataclass
class ThrottleStatus:
    """``extensions.cost.throttleStatus``."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON Shopify sends (numbers as floats, as it does)."""
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """One bucket per key (app and shop); thread-safe; restores continuously."""

    def __init__(
        self,
        maximum: float = 2000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}  # key -> (available, at)

    def configure(self, maximum: float, restore_rate: float) -> None:
        """Change the size and rate (buckets start full again)."""
        with self._lock:
            self.maximum, self.restore_rate = float(maximum), float(restore_rate)
            self._state.clear()

    def _available(self, key: str) -> float:
        now = self._clock()
        available, at = self._state.get(key, (self.maximum, now))
        return min(self.maximum, available + (now - at) * self.restore_rate)

    def take(self, key: str, cost: int) -> tuple[bool, ThrottleStatus]:
        """Take `cost` points if available; (taken, status after)."""
        with self._lock:
            available = self._available(key)
            taken = available >= cost
            if taken:
                available -= cost
            self._state[key] = (available, self._clock())
            return taken, self._status(available)

    def refund(self, key: str, points: int) -> ThrottleStatus:
        """Give back the points a query requested but did not use."""
        with self._lock:
            available = min(self.maximum, self._available(key) + max(0, points))
            self._state[key] = (available, self._clock())
            return self._status(available)

    def drain(self, key: str) -> ThrottleStatus:
        """Empty a bucket (what a throttling fault does)."""
        with self._lock:
            self._state[key] = (0.0, self._clock())
            return self._status(0.0)

    def status(self, key: str) -> ThrottleStatus:
        """The bucket as it is now."""
        with self._lock:
            return self._status(self._available(key))

    def _status(self, available: float) -> ThrottleStatus:
        return ThrottleStatus(self.maximum, available, self.restore_rate)
