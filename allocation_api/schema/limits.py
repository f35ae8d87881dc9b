"""GraphQL query limits and production hardening, as strawberry schema extensions.

A public GraphQL endpoint executes whatever document it is sent, so every
document is bounded before a single resolver (and so a single upstream or
SQL call) runs:

| limit                      | setting          | enforced at  | by                     |
|----------------------------|------------------|--------------|------------------------|
| lexical tokens             | `max_tokens`     | parse        | `MaxTokensLimiter`     |
| operations per document    | `max_operations` | after parse  | `OperationCountLimiter`|
| nesting depth              | `max_depth`      | validation   | `depth_rule`           |
| aliases                    | `max_aliases`    | validation   | `MaxAliasesLimiter`    |
| literal `first:` page size | `max_page_size`  | validation   | `page_size_rule`       |
| `first: $var` page size    | `max_page_size`  | after validation | `PageSizeVariableLimiter` |
| query cost per role        | `cost_budget_*`  | after validation | `cost.QueryCostLimiter` |

Strawberry's built-ins are used where they exist (not for depth: its
limiter counts the root field as level 0). The validation rules are
built once per `limit_extensions` call (not per request), so the validation
cache (`DocumentValidationCache`), keyed on the rule classes, keeps hitting.

In production (`production_extensions`) introspection is off and graphql's
"Did you mean ...?" hints are removed from error messages: together they
would otherwise let anyone map the whole schema by trial and error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    SchemaExtension,
)

from allocation_api.caching import BoundedMemo
from allocation_api.schema.cost import CostMemo, QueryCostLimiter
from allocation_api.settings import Settings

ExtensionFactory = Callable[[], SchemaExtension]
"""What `strawberry.Schema(extensions=...)` takes: a fresh extension per request."""

PAGE_SIZE_ARGUMENT = "first"
"""Every paginated field of the schema takes its page size as `first`."""

PAGE_SIZE_TOO_LARGE = "PAGE_SIZE_TOO_LARGE"
PAGE_SIZE_NEGATIVE = "PAGE_SIZE_NEGATIVE"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
TOO_DEEP = "TOO_DEEP"


def _page_size_problem(first: int, max_page_size: int) -> tuple[str, str] | None:
    """(code, message) when `first` is out of range, else None."""
    if first < 0:
        return PAGE_SIZE_NEGATIVE, f"'{PAGE_SIZE_ARGUMENT}' must not be negative (got {first})."
    if first > max_page_size:
        return (
            PAGE_SIZE_TOO_LARGE,
            f"'{PAGE_SIZE_ARGUMENT}' may be at most {max_page_size} (got {first}); "
            "fetch further pages with 'after'.",
        )
    return None


def page_size_rule(max_page_size: int) -> type[ValidationRule]:
    """A validation rule refusing literal `first:` values outside 0..max_page_size."""

    class PageSizeRule(ValidationRule):
        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            for argument in node.arguments or ():
                if argument.name.value != PAGE_SIZE_ARGUMENT:
                    continue
                if not isinstance(argument.value, IntValueNode):
                    continue  # variables: PageSizeVariableLimiter; other types: graphql's own rules
                problem = _page_size_problem(int(argument.value.value), max_page_size)
                if problem is not None:
                    code, message = problem
                    self.report_error(GraphQLError(message, argument, extensions={"code": code}))

    return PageSizeRule


class OperationCountLimiter(SchemaExtension):
    """Refuses documents holding more than `max_operations` operations, right after parsing.

    It runs before strawberry picks the operation to execute, so a document
    with two anonymous operations gets this clear message rather than an
    "operation name required" HTTP error, and nobody can ship a whole batch
    of operations in one document to slip past per-request limits.
    """

    def __init__(self, max_operations: int) -> None:
        self.max_operations = max_operations

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return  # parsing failed; that error is already reported
        count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        if count > self.max_operations:
            allowed = (
                "one operation"
                if self.max_operations == 1
                else f"at most {self.max_operations} operations"
            )
            raise GraphQLError(
                f"The document contains {count} operations but {allowed} may be sent per "
                "request; send each operation in its own request.",
                extensions={"code": TOO_MANY_OPERATIONS},
            )


class _VariablePageSizes(Visitor):
    """Collects the `first` arguments of a document that take their value from a variable."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, ArgumentNode]] = []

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        for argument in node.arguments or ():
            if argument.name.value == PAGE_SIZE_ARGUMENT and isinstance(
                argument.value, VariableNode
            ):
                self.found.append((argument.value.name.value, argument))


def _variable_defaults(document: DocumentNode) -> dict[str, int]:
    defaults: dict[str, int] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                if isinstance(variable.default_value, IntValueNode):
                    defaults[variable.variable.name.value] = int(variable.default_value.value)
    return defaults


class PageSizeVariables:
    """`first: $var` arguments and variable defaults of each document, by query text.

    Finding them walks the whole document; the answer depends on the text
    alone, so it is kept (bounded, `BoundedMemo`) and each request only looks
    its variables up.
    """

    def __init__(self, maxsize: int) -> None:
        self._found: BoundedMemo[str, tuple[list[tuple[str, ArgumentNode]], dict[str, int]]] = (
            BoundedMemo(maxsize)
        )

    def of(
        self, query: str | None, document: DocumentNode
    ) -> tuple[list[tuple[str, ArgumentNode]], dict[str, int]]:
        known = self._found.get(query) if query is not None else None
        if known is not None:
            return known
        collector = _VariablePageSizes()
        visit(document, collector)
        found = (collector.found, _variable_defaults(document) if collector.found else {})
        return found if query is None else self._found.put(query, found)


class PageSizeVariableLimiter(SchemaExtension):
    """Refuses `first: $n` when the variable's value (or default) is out of range.

    Validation cannot see variable values, so this runs once validation has
    passed and before execution starts. Values that are not integers are
    left to graphql's own variable coercion to reject.
    """

    def __init__(self, max_page_size: int, documents: PageSizeVariables) -> None:
        self.max_page_size = max_page_size
        self.documents = documents

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None or context.pre_execution_errors:
            return
        arguments, defaults = self.documents.of(context.query, document)
        if not arguments:
            return
        values: Mapping[str, Any] = {**defaults, **(context.variables or {})}
        for name, argument in arguments:
            value = values.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            problem = _page_size_problem(value, self.max_page_size)
            if problem is not None:
                code, message = problem
                raise GraphQLError(
                    f"Variable '${name}': {message}", argument, extensions={"code": code}
                )


def _height(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    heights: dict[str, int],
    expanding: set[str],
) -> int:
    """Levels of fields in `selection_set` (a leaf field is one level).

    Fragments count where they are spread, each measured once (`heights`);
    introspection fields (`__schema`, `__type`) count one level, their depth
    is the schema's, not the caller's. Unknown and cyclic spreads count 0:
    graphql's own rules report those documents.
    """
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            below = 0
            if selection.selection_set is not None and not name.startswith("__"):
                below = _height(selection.selection_set, fragments, heights, expanding)
            deepest = max(deepest, 1 + below)
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _height(selection.selection_set, fragments, heights, expanding))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in expanding:
                continue
            if name not in heights:
                expanding.add(name)
                heights[name] = _height(fragment.selection_set, fragments, heights, expanding)
                expanding.discard(name)
            deepest = max(deepest, heights[name])
    return deepest


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nesting fields more than `max_depth` levels.

    The root fields are level 1, so `max_depth` levels pass and one more
    fails. (Strawberry's `QueryDepthLimiter` counts the root field as 0 and
    so lets `max_depth + 1` levels through.)
    """

    class DepthRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            fragments = {
                d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
            }
            heights: dict[str, int] = {}
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth = _height(definition.selection_set, fragments, heights, set())
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth} "
                            f"({depth} levels of fields)",
                            definition,
                            extensions={"code": TOO_DEEP},
                        )
                    )

    return DepthRule


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """The extensions enforcing the configured query limits (for every mode)."""
    rules: list[type[ASTValidationRule]] = [
        depth_rule(settings.max_depth),
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        page_size_rule(settings.max_page_size),
    ]
    return [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(OperationCountLimiter, settings.max_operations),
        functools.partial(AddValidationRules, rules),
        # Listed before the page-size check so that it runs after it: strawberry
        # leaves the validation hooks in reverse order.
        functools.partial(
            QueryCostLimiter,
            settings,
            CostMemo.sized(settings.query_cache_size),
            report=settings.debug_extensions_on,
        ),
        functools.partial(
            PageSizeVariableLimiter,
            settings.max_page_size,
            PageSizeVariables(settings.query_cache_size),
        ),
    ]


_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
"""graphql-core's hint, e.g. " Did you mean 'prison' or 'prisoner'?" (names never contain '?')."""


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class HideSuggestions(SchemaExtension):
    """Removes "Did you mean ...?" hints from every error of the response.

    graphql-core 3.3 can omit them itself (`hide_suggestions=True`), but
    strawberry 0.341 passes that flag neither to validation nor to
    execution, where variable coercion adds hints too. Rewriting the final
    errors covers both, whatever other extensions (such as a validation
    cache) sit in the list.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_without_suggestion(e) for e in result.errors]


def production_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Hardening for `serve` mode: no introspection, no name suggestions. Empty in `dev`."""
    if settings.is_dev:
        return []
    return [DisableIntrospection, HideSuggestions]
