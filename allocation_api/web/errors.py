"""Formatting GraphQL errors for the response, and what to hide.

Known errors (`AllocationApiError`) keep their message and get a machine
readable `extensions.code` (plus `upstream` for upstream failures, `field`
for validation). GraphQL's own errors (syntax, validation, permission
classes) keep graphql-core's message. Anything else is a bug: it is logged
with its traceback and a request id; the response says only "internal error"
with that id in `serve` mode (in `dev` the exception's message is shown, but
never a traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from allocation_api.errors import AllocationApiError, UpstreamError, ValidationFailed

log = logging.getLogger("allocation_api.errors")


def is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, AllocationApiError | GraphQLError)


def format_error(error: GraphQLError, *, request_id: str, mask: bool) -> dict[str, Any]:
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    message = error.message
    if isinstance(original, AllocationApiError):
        message = original.message
        extensions["code"] = original.code
        if isinstance(original, UpstreamError):
            extensions["upstream"] = original.upstream
        if isinstance(original, ValidationFailed) and original.field:
            extensions["field"] = original.field
    elif original is not None and not isinstance(original, GraphQLError):
        log.error(
            "unexpected error in request %s at %s",
            request_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        extensions = {"code": "INTERNAL", "requestId": request_id}
        message = (
            f"Internal error (request id {request_id})"
            if mask
            else f"Internal error (request id {request_id}): {type(original).__name__}: {original}"
        )
    elif "code" not in extensions:
        extensions["code"] = "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_REQUEST"
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = error.path
    formatted["extensions"] = extensions
    return formatted


def request_error(message: str, code: str) -> dict[str, Any]:
    """A response body for a request refused before GraphQL execution."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
