"""Query cost: an upper bound on what a document can make the service build, checked
before execution against a budget for the caller's role.

The other limits (`limits.py`) bound the document's text; none bounds its
answer. Pages multiply: `pom -> caseload(first: 100) -> nodes -> primaryPom ->
caseload(first: 100) -> ...` is 33 tokens, depth 9, and asks for millions of
objects. The cost model counts what the answer can hold:

    cost(field)      = weight(field) + cost(its selections)
    cost(list field) = weight(field) + size(list) x (1 + cost(its selections))

summed over every selection of the operation, with fragments expanded where
they are spread (each spread counts again, as each is executed again) and
aliases counted per use. Every field weighs 1 unless `FIELD_WEIGHTS` says
otherwise; each list item adds 1 (it is an object or value in the answer).
A list's size is:

* a connection's `nodes`: the connection field's `first` (a literal, the
  request's variable or its declared default, else `DEFAULT_PAGE_SIZE`),
  clamped to 0..max_page_size, exactly what the resolver will use;
* a list field taking `first` itself: that page size;
* any other list: its entry in `LIST_SIZES`, a declared upper estimate.

`__typename` weighs 1; introspection (`__schema`, `__type`, only served in
`dev`) weighs 1 and is not descended into: its size is fixed by the schema,
not by data. `@skip`/`@include` are ignored (the bound stays an upper bound).

`answer_size` counts the same units in a response's `data` (every key and
every list item), so `answer_size(data) <= query_cost(...)` whenever the
declared list sizes hold; the tests check that on random documents.

The cost of a document depends on its text and on the page-size variables
only, so it is memoised by (parsed document, those values) in a
`BoundedMemo`, like validation (`fast_execution.py`): a repeated request
pays one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from strawberry.extensions import SchemaExtension

from allocation_api.auth.identity import (
    ROLE_ALLOC_CASE_MGR,
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
)
from allocation_api.caching import BoundedMemo
from allocation_api.paging import DEFAULT_PAGE_SIZE
from allocation_api.settings import Settings

QUERY_TOO_COSTLY: Final = "QUERY_TOO_COSTLY"
PAGE_SIZE_ARGUMENT: Final = "first"
CONNECTION_ITEMS: Final = "nodes"
"""The list field of every connection type; its size is the connection's `first`."""

LIST_SIZES: Final[Mapping[tuple[str, str], int]] = {
    # POMs holding the POM role at one prison: the largest English prisons
    # employ about 40; 60 leaves headroom (the sandbox seeds 12).
    ("Prison", "poms"): 60,
    # Events in one allocation's history: one per allocate, reallocate and
    # deallocate of either POM, transfer or release. A case reallocated every
    # few months over a long sentence stays well under 30.
    ("Allocation", "history"): 30,
    # Override reasons are a set of the four `OverrideReason` values
    # (`rules/override.normalise_reasons` removes repeats).
    ("Allocation", "overrideReasons"): 4,
    ("AllocationEvent", "overrideReasons"): 4,
    # Parole reviews of one prisoner, all sentences: an indeterminate sentence
    # has a review every one to two years after tariff; 20 covers decades.
    ("Prisoner", "paroleReviews"): 20,
}
"""Declared upper estimates of the plain (not paginated) list fields.

Every list field of the schema is either a connection's `nodes`, takes
`first`, or is listed here: a test walks the schema and fails on a new list
field without an entry, so its size is a decision, not a default.
"""

UNDECLARED_LIST_SIZE: Final = 100
"""Used only for a list field missing from `LIST_SIZES` (which a test forbids)."""

FIELD_WEIGHTS: Final[Mapping[tuple[str, str], int]] = {
    # A page of prisoners: one prisoner-search read and SQL for the roll.
    ("Prison", "prisoners"): 5,
    # Counts over the whole roll of the prison (every prisoner, not a page).
    ("Prison", "summary"): 5,
    # The prison's POMs: a staff list from prison-api.
    ("Prison", "poms"): 3,
    ("Pom", "caseload"): 2,
    ("Pom", "caseloadCounts"): 2,
    # A page of the merged case history: one statement per log.
    ("Prisoner", "caseHistory"): 2,
    # Every mutation is a transaction with fresh upstream reads of the rules' facts.
    ("Mutation", "allocatePrimaryPom"): 10,
    ("Mutation", "allocateSecondaryPom"): 10,
    ("Mutation", "deallocatePrimaryPom"): 10,
    ("Mutation", "deallocateSecondaryPom"): 10,
    ("Mutation", "updateCaseInformation"): 10,
    ("Mutation", "updatePomDetails"): 10,
}
"""Fields that cost more than the default weight of 1 (all weights are >= 1)."""

INTROSPECTION_WEIGHT: Final = 1


def _is_introspection(name: str) -> bool:
    return name.startswith("__") and name != "__typename"


class _CostWalk:
    """One walk over one operation (fragments memoised by name and page size)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size
        self.default_page_size = min(DEFAULT_PAGE_SIZE, max_page_size)
        self.fragment_costs: dict[tuple[str, int | None], int] = {}
        self.expanding: set[str] = set()

    def page_size(self, node: FieldNode) -> int:
        """The page size the resolver will use for this field's `first`."""
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value != PAGE_SIZE_ARGUMENT:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
        if not isinstance(value, int) or isinstance(value, bool):
            return self.default_page_size
        return max(0, min(value, self.max_page_size))

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                typed = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, typed or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, page)
        return total

    def spread(self, name: str, page: int | None) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.expanding:
            return 0  # unknown or cyclic: validation refuses the document anyway
        key = (name, page)
        known = self.fragment_costs.get(key)
        if known is not None:
            return known
        typed = self.schema.get_type(fragment.type_condition.name.value)
        if typed is None:
            return 0
        self.expanding.add(name)
        try:
            cost = self.selections(fragment.selection_set, typed, page)
        finally:
            self.expanding.discard(name)
        self.fragment_costs[key] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return INTROSPECTION_WEIGHT if _is_introspection(name) else 1
        definition = (
            parent.fields.get(name)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        if definition is None:
            return 1  # not a field of this type: validation reports it
        weight = FIELD_WEIGHTS.get((parent.name, name), 1)
        own_page = self.page_size(node) if PAGE_SIZE_ARGUMENT in definition.args else None
        below = 0
        if node.selection_set is not None:
            below = self.selections(node.selection_set, get_named_type(definition.type), own_page)
        if not isinstance(get_nullable_type(definition.type), GraphQLList):
            return weight + below
        if own_page is not None:
            size = own_page
        elif name == CONNECTION_ITEMS and page is not None:
            size = page
        else:
            size = LIST_SIZES.get((parent.name, name), UNDECLARED_LIST_SIZE)
        return weight + size * (1 + below)


def _root_type(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> GraphQLObjectType | None:
    if operation.operation == OperationType.MUTATION:
        return schema.mutation_type
    if operation.operation == OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


def variable_defaults(document: DocumentNode) -> dict[str, Any]:
    """Integer defaults declared by the document's operations (`$n: Int = 20`)."""
    defaults: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                if isinstance(variable.default_value, IntValueNode):
                    defaults[variable.variable.name.value] = int(variable.default_value.value)
    return defaults


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    *,
    max_page_size: int,
) -> int:
    """The cost of the document's most expensive operation (see the module docstring).

    `variables` are the request's; the operations' declared defaults fill the
    variables it leaves out. A null or non-integer page size counts as the
    default page size (null is what the resolver then gets; anything else
    fails variable coercion and never runs).
    """
    values = {**variable_defaults(document), **(variables or {})}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _CostWalk(schema, fragments, values, max_page_size)
    cost = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = _root_type(schema, definition)
            if root is not None:
                cost = max(cost, walk.selections(definition.selection_set, root, None))
    return cost


def answer_size(data: Any) -> int:
    """What an answer's `data` holds, in the units of `query_cost`.

    Every key of every object counts 1 (introspection keys 1 and no more), and
    every list item 1 plus what it holds. One loop over an explicit stack, since
    it walks every answer in dev (a page of 50 prisoners in about 0.3 ms).
    """
    containers = (dict, list)
    if type(data) not in containers:
        return 0
    total = 0
    stack = [data]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        total += len(value)
        if type(value) is dict:
            for key, item in value.items():
                if type(item) in containers and not _is_introspection(key):
                    push(item)
        else:
            for item in value:
                if type(item) in containers:
                    push(item)
    return total


# --- budgets -------------------------------------------------------------------


def budget_for(identity: Identity | None, settings: Settings) -> int:
    """The cost budget of the caller: the largest budget among the roles the token grants.

    A role counts only where the access policy would honour it (a manager or
    POM role on a user token, the view role on a client token). A caller with
    none of them gets the smallest budget: every field it asks for is refused,
    and the refusals must stay small too.
    """
    budgets = [settings.cost_budget_manager, settings.cost_budget_pom, settings.cost_budget_client]
    if identity is None:
        return min(budgets)
    granted: list[int] = []
    if identity.is_user and identity.has_role(ROLE_ALLOC_MGR):
        granted.append(settings.cost_budget_manager)
    if identity.is_user and identity.has_role(ROLE_ALLOC_CASE_MGR):
        granted.append(settings.cost_budget_pom)
    if identity.is_client and identity.has_role(ROLE_VIEW_POM_ALLOCATIONS):
        granted.append(settings.cost_budget_client)
    return max(granted) if granted else min(budgets)


# --- the extension ---------------------------------------------------------------

CostKey = tuple[int, tuple[Any, ...]]
"""(id of the parsed document, the values of its page-size variables)."""


@dataclass(slots=True)
class CostMemo:
    """Costs by parsed document and page-size variable values, shared by every request.

    Each entry keeps its document, so an id cannot be reused while its entry
    lives (the parser cache hands back one DocumentNode per text).
    """

    costs: BoundedMemo[CostKey, tuple[DocumentNode, int]]
    page_variables: BoundedMemo[int, tuple[DocumentNode, tuple[str, ...]]]

    @classmethod
    def sized(cls, maxsize: int) -> CostMemo:
        return cls(BoundedMemo(maxsize), BoundedMemo(maxsize))

    def variable_names(self, document: DocumentNode) -> tuple[str, ...]:
        """Names of the variables the document passes as `first` (the cost depends on them)."""
        entry = self.page_variables.get(id(document))
        if entry is None or entry[0] is not document:
            names = tuple(sorted(set(_page_size_variables(document.definitions))))
            entry = self.page_variables.put(id(document), (document, names))
        return entry[1]


def _page_size_variables(nodes: Any) -> Iterator[str]:
    """Every `first: $name` in the given nodes (depth-first, without graphql's visitor)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            for argument in node.arguments or ():
                if argument.name.value == PAGE_SIZE_ARGUMENT and isinstance(
                    argument.value, VariableNode
                ):
                    yield argument.value.name.value
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)


_ABSENT: Final = "absent"


def _page_value(variables: Mapping[str, Any], name: str) -> int | str | None:
    """What the cost depends on in one page-size variable: its integer value, its
    absence (the declared default applies) or anything else (the default page size)."""
    if name not in variables:
        return _ABSENT
    value = variables[name]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class QueryCostLimiter(SchemaExtension):
    """Refuses a document whose cost exceeds the caller's budget, before execution.

    Runs once validation has passed (the document is known to be well formed
    and within the other limits). The caller comes from the request context's
    verified identity. With `report` on (debug extensions), the computed cost
    is added to the result's extensions as `cost.requested`.
    """

    def __init__(self, settings: Settings, memo: CostMemo, *, report: bool) -> None:
        self.settings = settings
        self.memo = memo
        self.report = report
        self.requested: int | None = None

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None or context.pre_execution_errors:
            return
        variables = context.variables or {}
        names = self.memo.variable_names(document)
        page_values = tuple(_page_value(variables, n) for n in names)
        key: CostKey = (id(document), page_values)
        entry = self.memo.costs.get(key)
        if entry is None or entry[0] is not document:
            given = {n: v for n, v in zip(names, page_values, strict=True) if v != _ABSENT}
            cost = query_cost(
                context.schema._schema,
                document,
                given,
                max_page_size=self.settings.max_page_size,
            )
            entry = self.memo.costs.put(key, (document, cost))
        cost = entry[1]
        self.requested = cost
        identity = getattr(context.context, "identity", None)
        limit = budget_for(identity if isinstance(identity, Identity) else None, self.settings)
        if cost > limit:
            raise GraphQLError(
                f"The query would cost {cost} but at most {limit} is allowed for this caller: "
                "ask for smaller pages (`first`), fewer nested lists or fewer fields.",
                extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "limit": limit},
            )

    def get_results(self) -> dict[str, Any]:
        if not self.report or self.requested is None:
            return {}
        return {"cost": {"requested": self.requested}}
