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
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

from allocation_api.errors import AllocationApiError, UpstreamError, ValidationFailed

log = logging.getLogger("allocation_api.errors")


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


def release_tracebacks(errors: Iterable[BaseException]) -> None:
    """Drop the tracebacks of answered errors and of the errors they wrap or follow.

    A traceback holds the frames the error passed through, and those frames
    hold the executor that collected the error: a reference cycle that kept a
    failed request's objects (context, loaders, what they read) alive until
    the cyclic garbage collector ran. Called once the errors are formatted
    (and unexpected ones logged with their traceback).
    """
    pending = list(errors)
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        error.__traceback__ = None
        for linked in (getattr(error, "original_error", None), error.__cause__, error.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def request_error(message: str, code: str) -> dict[str, Any]:
    """A response body for a request refused before GraphQL execution."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
