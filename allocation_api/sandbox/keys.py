"""The sandbox signing key and a minting helper for HMPPS-style access tokens.

The key is generated on first use and kept as `sandbox_signing_key.pem` in
the dev stack's state directory (`Settings.data_dir`, `./.allocation-api/`
by default, git-ignored), so the fake sign-in server, `allocation-api token`
(which asks the running sign-in server) and the test-suite all sign tokens
the dev stack accepts without any key exchange. It is never committed or
packaged: a key that ships is a key anyone can mint tokens with.

Production must refuse it, without holding it: every sandbox key is made
with the public exponent `auth.jwks.SANDBOX_PUBLIC_EXPONENT` and published
under a `kid` starting `sandbox-`, and the production JWKS cache refuses
keys with either mark (see `auth/jwks.py`). The exponent is what makes the
refusal hold when a JWKS renames the key or drops its `kid`.

Tokens are shaped like the ones HMPPS Auth issues (RS256 with a `kid`,
`authorities` as `ROLE_...`, `scope` as a list, `auth_source`, `grant_type`),
so the service's verifier is exercised against the real claim layout.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.auth.jwks import SANDBOX_KID_PREFIX, SANDBOX_PUBLIC_EXPONENT, jwk_thumbprint
from allocation_api.settings import Settings

log = logging.getLogger(__name__)

SANDBOX_KID = f"{SANDBOX_KID_PREFIX}2026"
"""The `kid` header of every sandbox token and of the sandbox JWKS entry."""

SANDBOX_CLIENT_ID = "allocation-api-sandbox"
"""Default `client_id` claim of minted tokens."""

KEY_FILE = "sandbox_signing_key.pem"
DEFAULT_KEY_DIR: Path = Settings.model_fields["data_dir"].default
"""Where the key lives unless a directory is given: the default `data_dir`."""

_PEM_MARKER = b"-----BEGIN PRIVATE KEY-----"
_PREAMBLE = (
    b"# The allocation-api sandbox signing key, generated on this machine for the dev\n"
    b"# stack and the tests. Production refuses it. Delete it to get a new one.\n"
)


def generate_private_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 key with the sandbox public exponent.

    OpenSSL makes the primes (its generator only takes the exponent 65537);
    the private exponent is then derived for `SANDBOX_PUBLIC_EXPONENT`
    instead. Both primes are random and secret as usual, so the key is as
    strong as any RSA-2048 key; only its public exponent is distinctive.
    """
    e = SANDBOX_PUBLIC_EXPONENT
    while True:
        primes = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
        p, q = primes.p, primes.q
        carmichael = math.lcm(p - 1, q - 1)
        if math.gcd(e, carmichael) == 1:  # fails with odds of about 2^-61
            break
    d = pow(e, -1, carmichael)
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    ).private_key()


def _read(path: Path) -> rsa.RSAPrivateKey | None:
    """The sandbox key stored at `path`, or None when there is none (or not a sandbox one)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        key = serialization.load_pem_private_key(raw[raw.index(_PEM_MARKER) :], password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if (
        not isinstance(key, rsa.RSAPrivateKey)
        or key.public_key().public_numbers().e != SANDBOX_PUBLIC_EXPONENT
    ):
        log.warning("%s is not a sandbox signing key; making a new one", path)
        return None
    return key


def _write(path: Path, key: rsa.RSAPrivateKey, *, replace: bool) -> None:
    """Store `key` readable by the owner only; the first of racing writers wins."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_PREAMBLE + pem)
        if replace:
            os.replace(scratch, path)
        else:
            # A hard link never overwrites: a process that generated at the same
            # moment and linked first keeps its key, and we read that one.
            with contextlib.suppress(FileExistsError):
                os.link(scratch, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()


@dataclass(frozen=True)
class SandboxKey:
    """The sandbox's RSA key pair, where it is stored, and what it signs."""

    private_key: rsa.RSAPrivateKey
    path: Path
    kid: str = SANDBOX_KID

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWKS entry, exactly as HMPPS Auth publishes its keys."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "e": _b64url_uint(numbers.e),
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64url_uint(numbers.n),
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        """RFC 7638 thumbprint of the public key."""
        return jwk_thumbprint(self.public_jwk())

    def mint(self, issuer: str, **kwargs: Any) -> str:
        """`mint_token` signed with this key."""
        return mint_token(issuer, key=self, **kwargs)


@functools.cache
def _load(path: Path) -> SandboxKey:
    key = _read(path)
    if key is None:
        replace = path.exists()
        started = time.perf_counter()
        _write(path, generate_private_key(), replace=replace)
        log.info(
            "generated the sandbox signing key %s in %.0f ms",
            path,
            (time.perf_counter() - started) * 1000,
        )
        key = _read(path)
        if key is None:  # pragma: no cover - only if the file is changed under us
            raise RuntimeError(f"could not store the sandbox signing key at {path}")
    return SandboxKey(key, path)


def load_sandbox_key(directory: Path | None = None) -> SandboxKey:
    """The sandbox key of `directory` (default `./.allocation-api/`), made on first use.

    Loaded once per process and directory: every sandbox, token and test of
    one process signs with the same key, and so does every process sharing
    the directory.
    """
    return _load((directory or DEFAULT_KEY_DIR).resolve() / KEY_FILE)


def sandbox_private_key() -> rsa.RSAPrivateKey:
    """The default sandbox private key (see `load_sandbox_key`)."""
    return load_sandbox_key().private_key


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sandbox_public_jwk() -> dict[str, str]:
    """The default sandbox key's JWKS entry (a fresh copy)."""
    return load_sandbox_key().public_jwk()


def jwk_fingerprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA JWK: the same function production uses
    for its refused keys (`auth.jwks.jwk_thumbprint`), so the two can never disagree."""
    return jwk_thumbprint(jwk)


def sandbox_key_fingerprint() -> str:
    """Thumbprint of the default sandbox key."""
    return load_sandbox_key().fingerprint


def mint_token(
    issuer: str,
    *,
    key: SandboxKey | None = None,
    username: str | None = None,
    roles: Sequence[str] = (),
    client_id: str = SANDBOX_CLIENT_ID,
    name: str | None = None,
    expires_in: int = 1200,
    extra_claims: Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign an RS256 access token shaped like HMPPS Auth's, with `key` (default: the default key).

    With `username` it is a user token (`user_name`, `auth_source` "nomis",
    grant "authorization_code"); without, a client-credentials token (`sub` =
    client id, `auth_source` "none"). Roles are given with or without the
    `ROLE_` prefix. `extra_claims` override or add claims, and a value of None
    removes that claim (to build malformed tokens in tests). `headers` are
    merged into the JOSE header (e.g. another `kid`). A negative `expires_in`
    yields an already expired token.
    """
    signer = key or load_sandbox_key()
    now = int(time.time())
    authorities = [r if r.startswith("ROLE_") else f"ROLE_{r}" for r in roles]
    claims: dict[str, Any] = {
        "sub": username if username is not None else client_id,
        "authorities": authorities,
        "scope": ["read", "write"],
        "client_id": client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "jti": str(uuid.uuid4()),
    }
    if username is not None:
        claims["user_name"] = username
        claims["name"] = name if name is not None else username.replace("_", " ").title()
        claims["auth_source"] = "nomis"
        claims["grant_type"] = "authorization_code"
    else:
        if name is not None:
            claims["name"] = name
        claims["auth_source"] = "none"
        claims["grant_type"] = "client_credentials"
    for claim, value in (extra_claims or {}).items():
        if value is None:
            claims.pop(claim, None)
        else:
            claims[claim] = value
    header: dict[str, Any] = {"kid": signer.kid, "typ": "JWT"}
    header.update(headers or {})
    return jwt.encode(claims, signer.private_key, algorithm="RS256", headers=header)
