"""`allocation-api token` signs with the key of the running dev stack's sandbox.

The dev stack keeps its sandbox key in its data directory and names its
sign-in service in `dev.json` there; `token` asks that service, so the token
verifies with that directory's key and no other.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import jwt
import orjson
import pytest

from allocation_api.sandbox import load_sandbox_key, start_sandbox
from allocation_api.sandbox.keys import KEY_FILE

REPO = Path(__file__).resolve().parents[2]


async def test_token_is_signed_with_the_dev_stacks_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    async with await start_sandbox(
        prisoners_per_prison=10, prisons=("LEI",), poms_per_prison=2, key_dir=data_dir
    ) as sandbox:
        assert (data_dir / KEY_FILE).exists()
        (data_dir / "dev.json").write_bytes(
            orjson.dumps({"api": "http://127.0.0.1:1", "sandbox": sandbox.urls})
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
        env["ALLOCATION_API_DATA_DIR"] = str(data_dir)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "allocation_api.cli",
            "token",
            "--user",
            "spo_lei",
            "--caseload",
            "LEI",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await child.communicate()
        assert child.returncode == 0, err.decode()
        token = out.decode().strip()
        user = sandbox.data.user("SPO_LEI")
        assert user is not None
        assert user.caseloads == ("LEI",)  # registered by the sign-in service, as in dev
    key = load_sandbox_key(data_dir)
    assert sandbox.key is key
    claims = jwt.decode(
        token, key.private_key.public_key(), algorithms=["RS256"], issuer=sandbox.issuer
    )
    assert claims["user_name"] == "SPO_LEI"
    assert claims["authorities"] == ["ROLE_ALLOC_MGR"]
    with pytest.raises(jwt.InvalidSignatureError):  # not the default directory's key
        jwt.decode(
            token,
            load_sandbox_key().private_key.public_key(),
            algorithms=["RS256"],
            issuer=sandbox.issuer,
        )
    assert not (tmp_path / ".allocation-api").exists()  # nothing made in the working dir
