"""The sandbox: fake NOMIS upstreams as real HTTP servers (development and tests only).

    sandbox = await start_sandbox()          # four servers on free loopback ports
    sandbox.urls["prisoner-search"]          # -> "http://127.0.0.1:41234"
    sandbox.data.sample_prisoners("LEI")     # the world they serve, mutable
    sandbox.set_fault("prison-api", Fault(status=503))
    await sandbox.close()

Nothing in the production path imports this package: `serve` and
`allocation_api.app` never load it (a test in tests/sandbox/ proves it), and
only the `dev`, `sandbox` and `token` commands import it, inside the command.
Its signing key is generated on first use and production refuses it (see
`keys.py`). See `launcher.py` for the API and docs/DOMAIN.md for the upstream
contract the fakes follow.
"""

from allocation_api.sandbox.counting import READ_POSTS, UPSTREAMS, is_read
from allocation_api.sandbox.data import SandboxData, SandboxUser
from allocation_api.sandbox.faults import Fault
from allocation_api.sandbox.keys import (
    SANDBOX_KID,
    SandboxKey,
    jwk_fingerprint,
    load_sandbox_key,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_private_key,
    sandbox_public_jwk,
)
from allocation_api.sandbox.launcher import Sandbox, run_sandbox_forever, start_sandbox

__all__ = [
    "READ_POSTS",
    "SANDBOX_KID",
    "UPSTREAMS",
    "Fault",
    "Sandbox",
    "SandboxData",
    "SandboxKey",
    "SandboxUser",
    "is_read",
    "jwk_fingerprint",
    "load_sandbox_key",
    "mint_token",
    "run_sandbox_forever",
    "sandbox_key_fingerprint",
    "sandbox_private_key",
    "sandbox_public_jwk",
    "start_sandbox",
]
