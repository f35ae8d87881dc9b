"""Every module of the package imports on its own.

An import cycle shows only when a module of the cycle is imported first, so
the app booting (which imports modules in one order) proves nothing: each
module is imported here alone, in an interpreter holding none of the
package's modules. One interpreter loads the third-party libraries once, then
forks one child per module (one per CPU at a time); each child checks that no
module of the package is loaded yet and imports its module. The layer
contracts (`lint-imports`, in the test command) say which imports are
allowed; this test says the modules load whatever the order.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import allocation_api

PACKAGE = pathlib.Path(allocation_api.__file__).parent

NOT_IMPORTABLE_ALONE = {
    "allocation_api.store.migrations.env": "alembic's entry point: runs migrations when imported",
}
"""Modules only their tool imports, in its own context."""

CHILD = r"""
import contextlib, importlib, os, sys, traceback

workers = int(sys.argv[1])
modules = sys.stdin.read().split()

def ours(name):
    return name.split(".")[0] == "allocation_api"

# The libraries the package uses, found by importing it all in a throwaway child,
# then loaded here once so that each child below pays only for the package's modules.
read_end, write_end = os.pipe()
if os.fork() == 0:
    with contextlib.suppress(BaseException):
        for module in modules:
            with contextlib.suppress(BaseException):
                importlib.import_module(module)
        os.write(write_end, " ".join(m for m in list(sys.modules) if not ours(m)).encode())
    os._exit(0)
os.close(write_end)
with os.fdopen(read_end) as pipe:
    libraries = pipe.read().split()
os.wait()
for name in libraries:
    with contextlib.suppress(BaseException):
        importlib.import_module(name)
assert not [m for m in sys.modules if ours(m)]

def run(module):
    pid = os.fork()
    if pid == 0:
        try:
            loaded = [m for m in sys.modules if ours(m)]
            assert not loaded, f"not alone: {loaded}"
            importlib.import_module(module)
        except BaseException:
            sys.stderr.write(f"--- {module}\n{traceback.format_exc()}")
            sys.stderr.flush()
            os._exit(1)
        os._exit(0)
    return pid

running, failed = {}, []
for module in modules:
    if len(running) >= workers:
        pid, status = os.wait()
        if status:
            failed.append(running[pid])
        del running[pid]
    running[run(module)] = module
while running:
    pid, status = os.wait()
    if status:
        failed.append(running[pid])
    del running[pid]
print(" ".join(sorted(failed)))
"""


def package_modules() -> list[str]:
    """Every module of the package, found on disk (importing would spoil the test)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not all(part.isidentifier() for part in parts):
            continue  # alembic revisions (`0001_initial`): loaded by path, not imported
        found.append(".".join(parts))
    return [m for m in found if m not in NOT_IMPORTABLE_ALONE]


def test_the_walk_finds_the_layers() -> None:
    modules = package_modules()
    for expected in [
        "allocation_api.schema.root",
        "allocation_api.commands.allocate",
        "allocation_api.resolvers.prisoners",
        "allocation_api.store.tables",
        "allocation_api.rules.handover",
    ]:
        assert expected in modules


def test_every_module_imports_alone() -> None:
    modules = package_modules()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(os.cpu_count() or 2)],
        input=" ".join(modules),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    failed = done.stdout.split()
    assert failed == [], done.stderr
