"""Process-wide tuning of a serving process: the cyclic garbage collector.

Measured with the benchmark harness (gc callbacks in the API process,
2000-prisoner prison, `prisonPage` under load): with CPython's defaults the
collector took 9-13% of the API's CPU. The default gen0 threshold (700 net
allocations) runs a collection every few hundred objects, while one
50-prisoner page allocates tens of thousands; and the full collections it
cascades into traverse every long-lived object: modules, the compiled schema,
the cached prison rolls.

So a serving process, once started, freezes what start-up made (those
objects move to a permanent generation no collection traverses again) and
raises the gen0 threshold. Requests also leave no reference cycles behind
(`tests/e2e/api/test_reference_cycles.py`), so their objects never count
towards a collection: under a steady prison-page load the collector then
did not run at all, where it had run every second or so (40 ms each, the
slowest responses). Reference counting still frees almost everything
at once; only reference cycles wait longer for a collection, which bounds the
extra memory to about one threshold's worth of objects. Applied by `serve`,
`dev` and the benchmark, never on import, so tests and library users keep
the interpreter's defaults.
"""

from __future__ import annotations

import gc


def tune_garbage_collector(gen0_threshold: int) -> None:
    """Freeze start-up objects and collect young objects every `gen0_threshold`
    allocations (0 = leave the interpreter's thresholds alone)."""
    if gen0_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
