"""The measured operations: their GraphQL documents and request bodies.

Each operation is a list of pre-encoded request bodies sent in rotation
(one body for the reads; for `allocate`, every prisoner of the allocate set
to POM B, then every one back to POM A, so each call really reallocates and
the same prisoner never has two requests in flight at the concurrency used).
`expect` is a substring every successful response must contain.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.client import request_body
from bench.seed import SeedResult

PRISON_PAGE = """
query PrisonPage($code: String!) {
  prison(code: $code) {
    prisoners(first: 50) {
      totalCount
      nodes {
        offenderNo
        firstName
        lastName
        caseInformation { tier }
        responsibility
        allocation { primaryPom { staffId firstName lastName } }
      }
    }
  }
}"""

CASELOAD = """
query Caseload($staffId: Int!, $code: String!) {
  pom(staffId: $staffId, prisonCode: $code) {
    caseload(first: 50) {
      nodes {
        offenderNo
        prisoner { firstName lastName sentence { releaseDate } }
        secondaryPom { firstName lastName }
      }
    }
  }
}"""

PRISONER = """
query Prisoner($offenderNo: String!) {
  prisoner(offenderNo: $offenderNo) {
    offenderNo
    firstName
    lastName
    caseInformation { tier }
    responsibility
    allocation {
      version
      primaryPom { staffId firstName lastName }
      secondaryPom { staffId firstName lastName }
      history { event trigger primaryPomStaffId secondaryPomStaffId createdBy createdAt }
    }
  }
}"""

ALLOCATE = """
mutation Allocate($input: AllocatePrimaryPomInput!) {
  allocatePrimaryPom(input: $input) {
    __typename
    ... on Allocation { version primaryPomStaffId primaryPomName }
    ... on Error { code message }
  }
}"""

TYPENAME = "{ __typename }"

OPERATION_NAMES = ("prisonPage", "caseload", "prisoner", "allocate", "typename")


@dataclass
class Operation:
    """One measured operation."""

    name: str
    query: str
    variables: list[dict[str, object]]
    bodies: list[bytes]
    expect: str | None = None
    writes: bool = False

    def rotate(self, sent: int) -> None:
        """Continue after the `sent` bodies already used (keeps `allocate` alternating)."""
        if self.bodies:
            shift = sent % len(self.bodies)
            self.bodies = self.bodies[shift:] + self.bodies[:shift]
            self.variables = self.variables[shift:] + self.variables[:shift]


def _op(name: str, query: str, variables: list[dict[str, object]], **kw: object) -> Operation:
    bodies = [request_body(query, v or None) for v in variables]
    return Operation(name, query, variables, bodies, **kw)  # type: ignore[arg-type]


def build_operations(seed: SeedResult) -> dict[str, Operation]:
    """All operations, bound to the seeded prison's handles."""
    pom_a, pom_b = seed.alloc_poms
    moves: list[dict[str, object]] = [
        {"input": {"offenderNo": no, "staffId": pom_b}} for no in seed.alloc_prisoners
    ]
    moves += [{"input": {"offenderNo": no, "staffId": pom_a}} for no in seed.alloc_prisoners]
    return {
        "prisonPage": _op("prisonPage", PRISON_PAGE, [{"code": seed.prison}]),
        "caseload": _op(
            "caseload", CASELOAD, [{"staffId": seed.caseload_pom, "code": seed.prison}]
        ),
        "prisoner": _op("prisoner", PRISONER, [{"offenderNo": seed.history_prisoner}]),
        "allocate": _op(
            "allocate", ALLOCATE, moves, expect='"__typename":"Allocation"', writes=True
        ),
        "typename": _op("typename", TYPENAME, [{}]),
    }
