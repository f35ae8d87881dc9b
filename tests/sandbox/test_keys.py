"""The sandbox signing key (made on first use, never shipped) and HMPPS-shaped tokens."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.auth.jwks import SANDBOX_PUBLIC_EXPONENT, is_sandbox_key
from allocation_api.sandbox.keys import (
    KEY_FILE,
    SANDBOX_KID,
    generate_private_key,
    jwk_fingerprint,
    load_sandbox_key,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_public_jwk,
)

REPO = Path(__file__).resolve().parents[2]

ISSUER = "http://127.0.0.1:9999/auth/issuer"


def _verify(token: str) -> dict[str, object]:
    key = jwt.PyJWK(sandbox_public_jwk()).key
    return jwt.decode(token, key, algorithms=["RS256"], issuer=ISSUER)


def test_user_token_has_the_hmpps_claims() -> None:
    token = mint_token(ISSUER, username="SPO_LEI", roles=["ALLOC_MGR", "ROLE_OTHER"])
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == SANDBOX_KID
    claims = _verify(token)
    assert claims["sub"] == claims["user_name"] == "SPO_LEI"
    assert claims["authorities"] == ["ROLE_ALLOC_MGR", "ROLE_OTHER"]
    assert claims["scope"] == ["read", "write"]
    assert claims["auth_source"] == "nomis"
    assert claims["grant_type"] == "authorization_code"
    assert claims["client_id"] == "allocation-api-sandbox"
    assert claims["name"] == "Spo Lei"
    assert isinstance(claims["jti"], str)
    assert claims["iat"] == claims["nbf"]
    assert claims["exp"] == claims["iat"] + 1200


def test_client_token_has_no_user() -> None:
    claims = _verify(mint_token(ISSUER, roles=["VIEW_POM_ALLOCATIONS"], client_id="other-svc"))
    assert claims["sub"] == claims["client_id"] == "other-svc"
    assert "user_name" not in claims
    assert "name" not in claims
    assert claims["auth_source"] == "none"
    assert claims["grant_type"] == "client_credentials"


def test_extra_claims_and_headers_shape_broken_tokens() -> None:
    token = mint_token(
        ISSUER,
        username="X",
        extra_claims={"exp": None, "auth_source": "delius"},
        headers={"kid": "rotated"},
    )
    assert jwt.get_unverified_header(token)["kid"] == "rotated"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "exp" not in claims
    assert claims["auth_source"] == "delius"


def test_expired_tokens_can_be_minted() -> None:
    token = mint_token(ISSUER, username="X", expires_in=-60)
    with pytest.raises(jwt.ExpiredSignatureError):
        _verify(token)
    assert jwt.decode(token, options={"verify_signature": False})["exp"] < time.time()


def test_fingerprint_identifies_the_sandbox_key_under_any_name() -> None:
    jwk = sandbox_public_jwk()
    assert jwk_fingerprint(jwk) == sandbox_key_fingerprint()
    assert jwk_fingerprint({**jwk, "kid": "prod-2026", "use": "sig"}) == sandbox_key_fingerprint()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    other_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(other, as_dict=True)
    assert jwk_fingerprint(other_jwk) != sandbox_key_fingerprint()


def test_public_jwk_is_a_copy_with_the_jwks_fields() -> None:
    jwk = sandbox_public_jwk()
    assert {k: jwk[k] for k in ("kty", "use", "kid", "alg", "e")} == {
        "kty": "RSA",
        "use": "sig",
        "kid": SANDBOX_KID,
        "alg": "RS256",
        "e": "U0FOREJPWC0",  # base64url of b"SANDBOX-": the mark production refuses
    }
    jwk["kid"] = "changed"
    assert sandbox_public_jwk()["kid"] == SANDBOX_KID


def test_generated_key_carries_the_sandbox_marks_and_signs() -> None:
    key = generate_private_key()
    public = key.public_key()
    assert public.key_size == 2048
    assert public.public_numbers().e == SANDBOX_PUBLIC_EXPONENT
    assert SANDBOX_PUBLIC_EXPONENT.to_bytes(8, "big") == b"SANDBOX-"
    assert is_sandbox_key(None, public)
    assert is_sandbox_key("hmpps-2026", public)
    token = jwt.encode({"sub": "x"}, key, algorithm="RS256")
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"sub": "x"}
    # Keys of real sign-in services (exponent 65537) are not sandbox keys, unless named so.
    ordinary = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert not is_sandbox_key("hmpps-2026", ordinary)
    assert not is_sandbox_key(None, ordinary)
    assert is_sandbox_key(SANDBOX_KID, ordinary)


def test_key_is_made_on_first_use_and_then_reused(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    key = load_sandbox_key(directory)
    path = directory / KEY_FILE
    assert key.path == path.resolve()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_sandbox_key(directory) is key  # once per process
    # Another process (here: a fresh interpreter) finds the same key in the directory.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path\n"
            "from allocation_api.sandbox.keys import load_sandbox_key\n"
            "print(load_sandbox_key(Path(sys.argv[1])).fingerprint)",
            str(directory),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == key.fingerprint
    assert path.read_bytes().count(b"PRIVATE KEY-----") == 2


def test_racing_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    """Processes starting together (dev stack, `token`, test workers) end with one key."""
    scripts = [
        "import sys; from pathlib import Path\n"
        "from allocation_api.sandbox.keys import load_sandbox_key\n"
        "print(load_sandbox_key(Path(sys.argv[1])).fingerprint)"
    ] * 3
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for script in scripts
    ]
    printed = {child.communicate(timeout=60)[0].strip() for child in children}
    assert printed == {load_sandbox_key(tmp_path).fingerprint}
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]


def test_a_key_without_the_sandbox_mark_is_replaced(tmp_path: Path) -> None:
    """E.g. a key copied from elsewhere: the sandbox never signs with a key production trusts."""
    ordinary = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / KEY_FILE).write_bytes(
        ordinary.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key = load_sandbox_key(tmp_path)
    assert key.private_key.public_key().public_numbers().e == SANDBOX_PUBLIC_EXPONENT
    raw = (tmp_path / KEY_FILE).read_bytes()
    stored = serialization.load_pem_private_key(raw[raw.index(b"-----BEGIN") :], password=None)
    assert isinstance(stored, rsa.RSAPrivateKey)
    assert stored.public_key().public_numbers() == key.private_key.public_key().public_numbers()


def test_signing_with_another_directory_s_key(tmp_path: Path) -> None:
    key = load_sandbox_key(tmp_path)
    token = key.mint(ISSUER, username="SPO_LEI")
    assert jwt.get_unverified_header(token)["kid"] == SANDBOX_KID
    claims = jwt.decode(token, key.private_key.public_key(), algorithms=["RS256"], issuer=ISSUER)
    assert claims["user_name"] == "SPO_LEI"
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(token)  # the default key did not sign it


def test_no_key_is_committed_or_in_the_package() -> None:
    assert not list((REPO / "allocation_api").rglob("*.pem"))
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "*.pem", "*.key"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""
