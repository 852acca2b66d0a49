"""Shopify's error shapes for refused GraphQL requests.

Shopify's Admin API runs on graphql-ruby, whose static validation reports each problem as
``{"message", "locations", "path", "extensions": {"code", ...}}`` with its own wording and codes
(graphql-ruby ``lib/graphql/static_validation/rules/*_error.rb``: ``undefinedField``,
``argumentNotAccepted``, ``argumentLiteralsIncompatible``, ``missingRequiredArguments``,
``selectionMismatch``, ``variableMismatch``...). The sandbox validates with graphql-core, whose
messages differ, so each graphql-core message is translated here into graphql-ruby's; the path
is the one graphql-ruby gives (``["query", "order", "foo"]``). Invalid variables become
``INVALID_VARIABLE`` with ``value`` and ``problems``, as Shopify answers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    ObjectFieldNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    Visitor,
    print_ast,
    visit,
)


@dataclass
class _Where:
    path: list[str]
    field: FieldNode | None
    argument: ArgumentNode | None
    argument_type: str | None
    operation: str
    variable: str | None = None  # inside this variable's definition


class _Locator(Visitor):
    """Records, for every node, graphql-ruby's path and its enclosing field and argument."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: dict[int, _Where] = {}
        self.argument_types: dict[int, str] = {}

    def enter(self, node: Node, key: Any, parent: Any, path: Any, ancestors: Any) -> None:
        if isinstance(node, ArgumentNode):
            definition = self.type_info.get_argument()
            if definition is not None:
                self.argument_types[id(node)] = str(definition.type)
        # graphql-core's `ancestors` stop before `parent`.
        chain = [a for a in (*ancestors, parent) if isinstance(a, Node)] + [node]
        segments: list[str] = []
        field = argument = None
        variable: str | None = None
        operation = "anonymous query"
        for item in chain:
            if isinstance(item, OperationDefinitionNode):
                kind = item.operation.value
                operation = item.name.value if item.name else f"anonymous {kind}"
                segments.append(f"{kind} {item.name.value}" if item.name else kind)
            elif isinstance(item, FragmentDefinitionNode):
                segments.append(f"fragment {item.name.value}")
                operation = f"fragment {item.name.value}"
            elif isinstance(item, FieldNode):
                segments.append(item.alias.value if item.alias else item.name.value)
                field, argument = item, None
            elif isinstance(item, InlineFragmentNode):
                condition = item.type_condition
                segments.append(f"... on {condition.name.value}" if condition else "...")
            elif isinstance(item, ArgumentNode):
                segments.append(item.name.value)
                argument = item
            elif isinstance(item, ObjectFieldNode):
                segments.append(item.name.value)
            elif isinstance(item, VariableDefinitionNode):
                variable = item.variable.name.value
        self.found[id(node)] = _Where(
            segments,
            field,
            argument,
            self.argument_types.get(id(argument)) if argument else None,
            operation,
            variable,
        )


def locate(schema: GraphQLSchema, document: DocumentNode) -> dict[int, _Where]:
    """Path and context of every node of a document, by ``id(node)``."""
    type_info = TypeInfo(schema)
    locator = _Locator(type_info)
    visit(document, TypeInfoVisitor(type_info, locator))
    return locator.found


def _location(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or []]


def _entry(
    message: str, error: GraphQLError, path: list[str] | None, extensions: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"message": message, "locations": _location(error)}
    if path is not None:
        entry["path"] = path
    if extensions:
        entry["extensions"] = extensions
    return entry


def _named(type_text: str) -> str:
    return type_text.replace("!", "").replace("[", "").replace("]", "")


_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\."), "undefined_field"),
    (re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\."), "unknown_argument"),
    (
        re.compile(r"^Field '(?:\w+\.)?(\w+)' argument '(\w+)' of type '(.+)' is required"),
        "missing_argument",
    ),
    (
        re.compile(r"^Field '(\w+)' of type '(.+)' must have a selection of subfields"),
        "needs_selection",
    ),
    (
        re.compile(r"^Field '(\w+)' must not have a selection since type '(.+)' has no subfields"),
        "no_selection",
    ),
    (
        re.compile(r"^Variable '\$(\w+)' of type '(.+)' used in position expecting type '(.+)'\."),
        "variable_mismatch",
    ),
    (re.compile(r"^Variable '\$(\w+)' is never used"), "variable_unused"),
    (re.compile(r"^Variable '\$(\w+)' is not defined"), "variable_undefined"),
    (re.compile(r"^Variable '\$(\w+)' cannot be non-input type '(.+)'\."), "variable_type"),
    (re.compile(r"^Unknown type '(\w+)'\."), "unknown_type"),
    (re.compile(r"^Fragment '(\w+)' is never used\."), "fragment_unused"),
    (re.compile(r"^Unknown fragment '(\w+)'\."), "fragment_unknown"),
]


def validation_errors(
    schema: GraphQLSchema, document: DocumentNode, errors: list[GraphQLError]
) -> list[dict[str, Any]]:
    """graphql-core validation errors in graphql-ruby's words, codes and paths."""
    where = locate(schema, document)
    result: list[dict[str, Any]] = []
    missing: dict[int, dict[str, Any]] = {}
    for error in errors:
        # The last node is where the problem is (a variable's misuse lists its definition first).
        node = error.nodes[-1] if error.nodes else None
        place = where.get(id(node)) if node is not None else None
        path = place.path if place else None
        for pattern, kind in _RULES:
            match = pattern.match(error.message)
            if match is None:
                continue
            entry = _translate(kind, match, error, path, place, node)
            if kind == "missing_argument" and node is not None and id(node) in missing:
                merged = missing[id(node)]
                merged["extensions"]["arguments"] += ", " + match.group(2)
                merged["message"] += ", " + match.group(2)
            else:
                if kind == "missing_argument" and node is not None:
                    missing[id(node)] = entry
                result.append(entry)
            break
        else:
            if place is not None and place.argument is not None and node is not place.argument:
                result.append(_literal_error(error, place))
            else:
                result.append(_entry(error.message, error, path, None))
    return result


def _translate(
    kind: str,
    match: re.Match[str],
    error: GraphQLError,
    path: list[str] | None,
    place: _Where | None,
    node: Node | None,
) -> dict[str, Any]:
    g = match.group
    operation = place.operation if place else "anonymous query"
    if kind == "undefined_field":
        return _entry(
            f"Field '{g(1)}' doesn't exist on type '{g(2)}'",
            error,
            path,
            {"code": "undefinedField", "typeName": g(2), "fieldName": g(1)},
        )
    if kind == "unknown_argument":
        return _entry(
            f"Field '{g(3)}' doesn't accept argument '{g(1)}'",
            error,
            path,
            {
                "code": "argumentNotAccepted",
                "name": g(3),
                "typeName": "Field",
                "argumentName": g(1),
            },
        )
    if kind == "missing_argument":
        return _entry(
            f"Field '{g(1)}' is missing required arguments: {g(2)}",
            error,
            path,
            {
                "code": "missingRequiredArguments",
                "className": "Field",
                "name": g(1),
                "arguments": g(2),
            },
        )
    if kind == "needs_selection":
        return _entry(
            f"Field must have selections (field '{g(1)}' returns {_named(g(2))} but "
            f"has no selections. Did you mean '{g(1)} {{ ... }}'?)",
            error,
            path,
            {"code": "selectionMismatch", "nodeName": f"field '{g(1)}'", "typeName": _named(g(2))},
        )
    if kind == "no_selection":
        selections = ""
        if isinstance(node, FieldNode) and node.selection_set is not None:
            names = [
                s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)
            ]
            selections = ", ".join(names)
        return _entry(
            f"Selections can't be made on scalars (field '{g(1)}' returns {g(2)} but "
            f"has selections [{selections}])",
            error,
            path,
            {"code": "selectionMismatch", "nodeName": f"field '{g(1)}'", "typeName": g(2)},
        )
    if kind == "variable_mismatch":
        variable, actual, expected = g(1), g(2), g(3)
        label = "Nullability" if _named(actual) == _named(expected) else "Type"
        argument = place.argument.name.value if place and place.argument else ""
        message = (
            f"{label} mismatch on variable ${variable} and argument {argument} "
            f"({actual} / {expected})"
        )
        return _entry(
            message,
            error,
            path,
            {
                "code": "variableMismatch",
                "variableName": variable,
                "typeName": actual,
                "argumentName": argument,
                "errorMessage": f"{label} mismatch",
            },
        )
    if kind == "variable_unused":
        return _entry(
            f"Variable ${g(1)} is declared by {operation} but not used",
            error,
            path,
            {"code": "variableNotUsed", "variableName": g(1)},
        )
    if kind == "variable_undefined":
        return _entry(
            f"Variable ${g(1)} is used by {operation} but not declared",
            error,
            path,
            {"code": "variableNotDefined", "variableName": g(1)},
        )
    if kind == "variable_type":
        return _entry(
            f"{g(2)} isn't a valid input type (on ${g(1)})",
            error,
            path,
            {"code": "variableRequiresValidType", "typeName": g(2), "variableName": g(1)},
        )
    if kind == "unknown_type" and place is not None and place.variable is not None:
        return _entry(
            f"{g(1)} isn't a defined input type (on ${place.variable})",
            error,
            path,
            {"code": "variableRequiresValidType", "typeName": g(1), "variableName": place.variable},
        )
    if kind == "unknown_type":
        return _entry(
            f"No such type {g(1)}, so it can't be a fragment condition",
            error,
            path,
            {"code": "undefinedType", "typeName": g(1)},
        )
    if kind == "fragment_unused":
        return _entry(
            f"Fragment {g(1)} was defined, but not used",
            error,
            path,
            {"code": "useAndDefineFragment", "fragmentName": g(1)},
        )
    return _entry(
        f"Fragment {g(1)} was used, but not defined",
        error,
        path,
        {"code": "useAndDefineFragment", "fragmentName": g(1)},
    )


def _literal_error(error: GraphQLError, place: _Where) -> dict[str, Any]:
    """A literal argument value the argument's type does not accept."""
    argument = place.argument
    assert argument is not None
    field = place.field.name.value if place.field else ""
    value = print_ast(argument.value)
    expected = place.argument_type or ""
    path = (
        place.path[: place.path.index(argument.name.value) + 1]
        if (argument.name.value in place.path)
        else place.path
    )
    return _entry(
        f"Argument '{argument.name.value}' on Field '{field}' has an invalid value ({value}). "
        f"Expected type '{expected}'.",
        error,
        path,
        {
            "code": "argumentLiteralsIncompatible",
            "typeName": "Field",
            "argumentName": argument.name.value,
        },
    )


def parse_error(error: GraphQLError) -> dict[str, Any]:
    """A syntax error, as graphql-ruby's parser reports it (no code)."""
    found = re.search(r"found (.+?)\.?$", error.message)
    token = found.group(1) if found else error.message.removeprefix("Syntax Error: ")
    line, column = (
        (error.locations[0].line, error.locations[0].column) if error.locations else (1, 1)
    )
    return {
        "message": f"Parse error on {token} at [{line}, {column}]",
        "locations": [{"line": line, "column": column}],
    }


_VARIABLE = re.compile(
    r"^Variable '\$(\w+)' (?:got invalid value (.*?)(?: at '([^']+)')?; (.*)"
    r"|of required type '(.+)' was not provided\."
    r"|of non-null type '(.+)' must not be null\.)$",
    re.S,
)


def variable_error(
    error: GraphQLError, operation: OperationDefinitionNode, inputs: dict[str, Any]
) -> dict[str, Any]:
    """An invalid variable value: INVALID_VARIABLE with ``value`` and ``problems``."""
    match = _VARIABLE.match(error.message)
    if match is None:
        return _entry(error.message, error, None, {"code": "INVALID_VARIABLE"})
    name = match.group(1)
    declared = next(
        (
            print_ast(d.type)
            for d in operation.variable_definitions
            if d.variable.name.value == name
        ),
        "",
    )
    nested = match.group(3)
    problem_path: list[Any] = []
    if nested:
        problem_path = [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", nested) if p][
            1:
        ]
    explanation = match.group(4) or "Expected value to not be null"
    where = " for " + ".".join(str(p) for p in problem_path) if problem_path else ""
    return _entry(
        f"Variable ${name} of type {declared} was provided invalid value{where} ({explanation})",
        error,
        None,
        {
            "code": "INVALID_VARIABLE",
            "value": inputs.get(name),
            "problems": [{"path": problem_path, "explanation": explanation}],
        },
    )


def execution_error(error: GraphQLError) -> dict[str, Any]:
    """An error raised while resolving, with its response path and extensions."""
    entry: dict[str, Any] = {"message": error.message, "locations": _location(error)}
    if error.path is not None:
        entry["path"] = list(error.path)
    if error.extensions:
        entry["extensions"] = dict(error.extensions)
    return entry
