"""Identity built from token claims, and reading the Authorization header."""

from __future__ import annotations

import pytest

from allocation_api.auth.errors import RejectReason, TokenRejected
from allocation_api.auth.identity import (
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
    identity_from_claims,
)
from allocation_api.auth.verify import bearer_token
from allocation_api.errors import Unauthenticated

USER_CLAIMS = {
    "sub": "jsmith_gen",
    "user_name": "jsmith_gen",
    "name": "John Smith",
    "authorities": ["ROLE_ALLOC_MGR", "ROLE_PRISON"],
    "client_id": "allocation-manager",
    "auth_source": "nomis",
    "jti": "abc",
}


def test_user_claims_make_a_user_identity_with_upper_case_username() -> None:
    identity = identity_from_claims(USER_CLAIMS)

    assert identity.username == "JSMITH_GEN"
    assert identity.subject == "jsmith_gen"
    assert identity.display_name == "John Smith"
    assert identity.roles == frozenset({"ROLE_ALLOC_MGR", "ROLE_PRISON"})
    assert identity.client_id == "allocation-manager"
    assert identity.auth_source == "nomis"
    assert identity.token_id == "abc"
    assert identity.is_user
    assert not identity.is_client


def test_client_claims_make_a_client_identity() -> None:
    identity = identity_from_claims(
        {
            "sub": "other-service",
            "authorities": [ROLE_VIEW_POM_ALLOCATIONS],
            "client_id": "other-service",
            "auth_source": "none",
        }
    )

    assert identity.is_client
    assert not identity.is_user
    assert identity.username is None
    assert identity.display_name is None
    assert identity.token_id is None


def test_has_role_accepts_the_name_with_or_without_prefix() -> None:
    identity = identity_from_claims(USER_CLAIMS)

    assert identity.has_role(ROLE_ALLOC_MGR)
    assert identity.has_role("ALLOC_MGR")
    assert not identity.has_role("ROLE_ALLOC_CASE_MGR")


def test_constructor_normalises_username_and_roles() -> None:
    identity = Identity("s", "abc", None, frozenset({"ALLOC_MGR"}), None, None, None)

    assert identity.username == "ABC"
    assert identity.roles == frozenset({"ROLE_ALLOC_MGR"})


def test_missing_authorities_means_no_roles() -> None:
    identity = identity_from_claims({"sub": "x"})

    assert identity.roles == frozenset()


@pytest.mark.parametrize(
    "claims",
    [
        {"authorities": []},
        {"sub": 5},
        {"sub": "x", "authorities": "ROLE_ALLOC_MGR"},
        {"sub": "x", "authorities": [1]},
        {"sub": "x", "user_name": ["a"]},
    ],
)
def test_wrongly_shaped_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # the message is not the contract
        identity_from_claims(claims)


def test_bearer_token_is_extracted() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("  BEARER   abc.def.ghi  ") == "abc.def.ghi"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, RejectReason.MISSING),
        ("", RejectReason.MISSING),
        ("   ", RejectReason.MISSING),
        ("Bearer", RejectReason.MISSING),
        ("Bearer   ", RejectReason.MISSING),
        ("Basic dXNlcjpwYXNz", RejectReason.MALFORMED),
        ("abc.def.ghi", RejectReason.MALFORMED),
        ("Bearer abc def", RejectReason.MALFORMED),
    ],
)
def test_bad_authorization_headers_are_unauthenticated(
    header: str | None, reason: RejectReason
) -> None:
    with pytest.raises(TokenRejected) as caught:
        bearer_token(header)

    assert isinstance(caught.value, Unauthenticated)
    assert caught.value.reason == reason
    assert caught.value.code == "UNAUTHENTICATED"
