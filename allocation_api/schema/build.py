"""build_schema(): the one place the GraphQL schema is assembled."""

from __future__ import annotations

import functools

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from allocation_api.caching import BoundedMemo
from allocation_api.schema.execution import FastExecutionContext, install_fast_paths
from allocation_api.schema.limits import limit_extensions, production_extensions
from allocation_api.schema.payloads import (
    ConflictError,
    NotAllowedError,
    NotFoundError,
    ServiceUnavailableError,
    ValidationError,
)
from allocation_api.schema.root import Mutation, Query
from allocation_api.schema.unavailable import resolve_attribute
from allocation_api.schema.validation_cache import DocumentValidationCache, ValidationResults
from allocation_api.settings import Settings


class AllocationSchema(strawberry.Schema):
    """Strawberry's schema, minus its habit of logging every error with a traceback.

    Expected errors (validation, permissions, upstream outages) are answers,
    not incidents; `web/errors.py` logs the unexpected ones, once, with the
    request id.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema for these settings: limits always; hardening in `serve` mode.

    Parsing results are cached in a bounded LRU keyed by the query text, and
    validation results by the parsed document (`validation_cache.py`), so
    repeated documents skip both, and unique documents cannot grow memory
    without limit. With `fast_execution` on, hot fields skip
    strawberry's per-field wrappers (`schema/execution.py`).
    """
    cache_size = settings.query_cache_size
    extensions = [
        *limit_extensions(settings),
        *production_extensions(settings),
    ]
    if cache_size:
        # Validation is cached after the limit rules ran once for that text.
        results: ValidationResults = BoundedMemo(cache_size)
        extensions = [
            functools.partial(ParserCache, maxsize=cache_size),
            functools.partial(DocumentValidationCache, results),
            *extensions,
        ]
    schema = AllocationSchema(
        query=Query,
        mutation=Mutation,
        types=[
            ValidationError,
            NotFoundError,
            NotAllowedError,
            ConflictError,
            ServiceUnavailableError,
        ],
        extensions=extensions,
        config=StrawberryConfig(
            default_resolver=resolve_attribute,
            disable_field_suggestions=not settings.is_dev,
        ),
        execution_context_class=FastExecutionContext if settings.fast_execution else None,
    )
    if settings.fast_execution:
        install_fast_paths(schema._schema, resolve_attribute)
    return schema
