"""Validation results cached by the parsed document's identity.

strawberry's `ValidationCache` keys an `lru_cache` on the DocumentNode, and a
graphql-core node's hash walks the whole syntax tree: every request paid for
hashing its document again (about 1% of a 50-prisoner page's CPU in py-spy).
The parser cache (`ParserCache`, in front of this one) hands back the same
DocumentNode object for the same text, so the object's identity is the key;
each entry keeps its document, so an id cannot be reused while its entry
lives. Bounded like the parser cache (`caching.BoundedMemo`).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from allocation_api.caching import BoundedMemo

ValidationResults = BoundedMemo[
    tuple[int, tuple[type, ...]], tuple[DocumentNode, list[GraphQLError]]
]
"""Shared by every request: (id of the document, the rules) -> (document, errors)."""


class DocumentValidationCache(SchemaExtension):
    """Runs validation once per parsed document and rule set (one instance per request)."""

    def __init__(self, results: ValidationResults) -> None:
        super().__init__()
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # validation runs after a successful parse
        rules = tuple(context.validation_rules)
        key = (id(document), rules)
        entry = self.results.get(key)
        if entry is None or entry[0] is not document:
            errors = validate_document(context.schema._schema, document, rules)
            entry = self.results.put(key, (document, errors))
        context.pre_execution_errors = entry[1]
        yield
