"""Child process: the sandbox upstreams, alone in their own process.

`allocation-api sandbox` always generates three prisons; the benchmark needs
one big prison and nothing else, so this runner calls `run_sandbox_forever`
with a `--prisons` list. It runs in its own process so that the fakes' CPU
(JSON encoding of thousands of prisoners per page) is not charged to the API.
Prints the one JSON line of URLs on stdout, as `allocation-api sandbox` does;
stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from allocation_api.sandbox import run_sandbox_forever
from allocation_api.sandbox.launcher import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and serve until a signal arrives."""
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_runner")
    parser.add_argument("--prisons", default="LEI", help="comma-separated prison codes")
    parser.add_argument("--prisoners", type=int, default=2000, help="prisoners per prison")
    parser.add_argument("--poms", type=int, default=30, help="POMs per prison")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    prisons = tuple(code.strip().upper() for code in args.prisons.split(",") if code.strip())
    main_coro = run_sandbox_forever(
        seed=args.seed,
        prisoners_per_prison=args.prisoners,
        prisons=prisons,
        poms_per_prison=args.poms,
        host="127.0.0.1",
        latency_ms=args.latency_ms,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )
    try:
        import uvloop

        uvloop.run(main_coro)
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        asyncio.run(main_coro)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
