"""The sandbox: fake NOMIS upstreams as real HTTP servers (development and tests only).

    sandbox = await start_sandbox()          # four servers on free loopback ports
    sandbox.urls["prisoner-search"]          # -> "http://127.0.0.1:41234"
    sandbox.data.sample_prisoners("LEI")     # the world they serve, mutable
    sandbox.set_fault("prison-api", Fault(status=503))
    await sandbox.close()

Nothing here may be used in production: the signing key in `keys.py` is
public. See `sandbox.py` for the API and DOMAIN.md for the upstream contract
the fakes follow.
"""

from allocation_api.upstream.fakes.counting import READ_POSTS, UPSTREAMS, is_read
from allocation_api.upstream.fakes.data import SandboxData, SandboxUser
from allocation_api.upstream.fakes.faults import Fault
from allocation_api.upstream.fakes.keys import (
    SANDBOX_KID,
    jwk_fingerprint,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_private_key,
    sandbox_public_jwk,
)
from allocation_api.upstream.fakes.sandbox import Sandbox, run_sandbox_forever, start_sandbox

__all__ = [
    "READ_POSTS",
    "SANDBOX_KID",
    "UPSTREAMS",
    "Fault",
    "Sandbox",
    "SandboxData",
    "SandboxUser",
    "is_read",
    "jwk_fingerprint",
    "mint_token",
    "run_sandbox_forever",
    "sandbox_key_fingerprint",
    "sandbox_private_key",
    "sandbox_public_jwk",
    "start_sandbox",
]
