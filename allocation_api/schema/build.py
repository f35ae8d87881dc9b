"""build_schema(): the one place the GraphQL schema is assembled."""

from __future__ import annotations

import functools
import importlib
import logging
from types import ModuleType

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

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
from allocation_api.settings import Settings

log = logging.getLogger(__name__)

FAST_EXECUTION_MODULE = "allocation_api.schema.fast_execution"


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


@functools.cache
def engine_internals() -> ModuleType | None:
    """`schema/fast_execution.py` (every use of graphql-core's and strawberry's
    internals) if the installed libraries are the ones it was written against, else None.

    Decided once per process: its imports must succeed and the library
    functions it mirrors must match their pinned fingerprints. When either
    fails, ONE warning says what differed and the service runs on plain
    strawberry (its own execution and `ValidationCache`), whose answers are
    the same.
    """
    try:
        fast = importlib.import_module(FAST_EXECUTION_MODULE)
    except Exception as error:  # ImportError, AttributeError...: whatever a change breaks
        log.warning(
            "fast execution off, running on plain strawberry: %s does not import "
            "with the installed graphql-core/strawberry (%s: %s)",
            FAST_EXECUTION_MODULE,
            type(error).__name__,
            error,
        )
        return None
    problems: list[str] = fast.drift()
    if problems:
        log.warning(
            "fast execution off, running on plain strawberry: the graphql-core/strawberry "
            "functions %s mirrors differ from its pinned fingerprints: %s. %s",
            FAST_EXECUTION_MODULE,
            "; ".join(problems),
            fast.repin_advice(),
        )
        return None
    return fast


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema for these settings: limits always; hardening in `serve` mode.

    Parsing results are cached in a bounded LRU keyed by the query text, and
    validation results by the parsed document (`DocumentValidationCache`), so
    repeated documents skip both, and unique documents cannot grow memory
    without limit. With `fast_execution` on, hot fields skip strawberry's
    per-field wrappers. Both come from `schema/fast_execution.py` when
    `engine_internals()` trusts it; otherwise strawberry's own
    `ValidationCache` and execution serve.
    """
    engine = engine_internals()
    cache_size = settings.query_cache_size
    extensions = [
        *limit_extensions(settings),
        *production_extensions(settings),
    ]
    if cache_size:
        # Validation is cached after the limit rules ran once for that text.
        validation = (
            engine.validation_cache(cache_size)
            if engine is not None
            else functools.partial(ValidationCache, maxsize=cache_size)
        )
        extensions = [
            functools.partial(ParserCache, maxsize=cache_size),
            validation,
            *extensions,
        ]
    fast = engine if settings.fast_execution else None
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
        execution_context_class=None if fast is None else fast.FastExecutionContext,
    )
    if fast is not None:
        fast.install_fast_paths(schema)
    return schema
