"""``POST /admin/api/2025-01/graphql.json``: the Admin GraphQL API of the sandbox shop.

Each request goes through Shopify's steps in order: the access token
(``X-Shopify-Access-Token``; 401 otherwise), the fault switches, the body (``query``,
``variables``, ``operationName``; ``application/json`` or ``application/graphql``), parsing,
validation against the official schema (graphql-ruby's error shapes, ``errors.py``), the
variables, the requested cost (at most 1000) and the app's leaky bucket (``THROTTLED``), then
execution with graphql-core against the schema: every result is coerced to the selection's
declared types. The answer carries ``extensions.cost`` with the requested and actual cost and
the bucket (``throttleStatus``), as Shopify's does.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, request
from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

# Resolvers and mutations register themselves on import.
from sandbox.shopify import (
    cost,
    errors,
    mutations,  # noqa: F401, E402, I001
    schema,
)
from sandbox.shopify.resolvers import Context, resolve_field

log = logging.getLogger(__name__)
bp = Blueprint("shopify_graphql", __name__)

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - a message, not a secret
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


def _json(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["X-Shopify-API-Version"] = schema.API_VERSION
    response.headers["X-Request-Id"] = str(uuid.uuid4())
    return response


def _cost_extension(requested: int, actual: int | None, status: cost.ThrottleStatus) -> Any:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status.as_dict(),
        }
    }


def throttled(requested: int, status: cost.ThrottleStatus) -> Response:
    """Shopify's THROTTLED answer (HTTP 200, nothing executed)."""
    return _json(
        {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
                }
            ],
            "extensions": _cost_extension(requested, None, status),
        }
    )


@bp.post("/admin/api/<version>/graphql.json")
def graphql_endpoint(version: str) -> Response:
    """Run one GraphQL request for the app the access token belongs to."""
    sandbox = current_app.extensions["shopify_sandbox"]
    if version != schema.API_VERSION:
        return _json({"errors": "Not Found"}, 404)
    app = sandbox.apps.caller(request.headers.get("X-Shopify-Access-Token"))
    if app is None:
        return _json({"errors": INVALID_TOKEN}, 401)
    bucket_key = f"{app.id}|{sandbox.shop.info.domain}"
    fault = sandbox.faults.before_api_request(bucket_key) or sandbox.faults.fails_body(
        request.get_data(as_text=True)
    )
    if fault is not None:
        return _fault_response(fault.status_code, sandbox.bucket, bucket_key)
    body = _request_body()
    if body is None:
        return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
    query, variables, operation_name = body
    started = time.perf_counter()
    result = run(sandbox, app, bucket_key, query, variables, operation_name)
    log.info(
        "graphql app=%s operation=%s ms=%.1f",
        app.id,
        operation_name or "-",
        (time.perf_counter() - started) * 1000,
    )
    return _json(result)


def _request_body() -> tuple[str, dict[str, Any], str | None] | None:
    if request.mimetype == "application/graphql":
        query: Any = request.get_data(as_text=True)
        variables: Any = {}
        operation_name: Any = None
    else:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return None
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip() or not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    return query, variables, operation_name


def run(
    sandbox: Any,
    app: Any,
    bucket_key: str,
    query: str,
    variables: dict[str, Any],
    operation_name: str | None,
) -> dict[str, Any]:
    """Parse, validate, price, throttle and execute one request; the response body."""
    api_schema = schema.admin_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"errors": [errors.parse_error(error)]}
    problems = validate(api_schema, document)
    if problems:
        return {"errors": errors.validation_errors(api_schema, document, problems)}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f'No operation named "{operation_name}"'
            if operation_name
            else "An operation name is required"
        )
        return {"errors": [{"message": message}]}
    coerced = get_variable_values(api_schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return {"errors": [errors.variable_error(e, operation, variables) for e in coerced]}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    requested = cost.query_cost(api_schema, operation, fragments, coerced)
    if requested > cost.MAX_QUERY_COST:
        status = sandbox.bucket.status(bucket_key)
        return {
            "errors": [
                {
                    "message": f"Query cost is {requested}, which exceeds the single query max "
                    f"cost limit ({cost.MAX_QUERY_COST}).",
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": requested,
                        "maxCost": cost.MAX_QUERY_COST,
                        "documentation": RATE_LIMIT_DOCS,
                    },
                }
            ],
            "extensions": _cost_extension(requested, None, status),
        }
    taken, status = sandbox.bucket.take(bucket_key, requested)
    if not taken:
        return throttled(requested, status).get_json()  # type: ignore[no-any-return]
    shop = sandbox.shop
    with shop.request(write=operation.operation == OperationType.MUTATION):
        result = execute(
            api_schema,
            document,
            root_value={},
            context_value=Context(shop, app),
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=resolve_field,
        )
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    actual = cost.query_cost(api_schema, operation, fragments, coerced, result.data, actual=True)
    status = sandbox.bucket.refund(bucket_key, requested - actual)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [errors.execution_error(e) for e in result.errors]
    body["data"] = result.data
    body["extensions"] = _cost_extension(requested, actual, status)
    return body


def _fault_response(status: int, bucket: cost.LeakyBucket, key: str) -> Response:
    """The fault switches in Shopify's terms: a 429 decision is a THROTTLED answer with the
    bucket emptied, a 500 Shopify's internal error, a 502/503 the proxy's HTML page."""
    if status == 429:
        return throttled(0, bucket.drain(key))
    if status == 500:
        request_id = str(uuid.uuid4())
        return _json(
            {
                "errors": [
                    {
                        "message": "Internal error. Looks like something went wrong on our "
                        f"end.\nRequest ID: {request_id} (include this in support requests).",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                    }
                ]
            },
            500,
        )
    title = "Bad Gateway" if status == 502 else "Service Unavailable"
    page = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(page, status=status, mimetype="text/html")
