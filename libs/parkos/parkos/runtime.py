"""Process-level tuning of a long-running service, applied once it has started.

CPython's cyclic garbage collector stops the event loop while it runs. By default a
young-generation pass runs every 700 net allocations of container objects, and every
hundredth pass is a full collection that walks every tracked object in the process:
tens of thousands of module, class, protobuf-descriptor and driver objects created at
import and start, which live as long as the process. Under load a full pass took 30-60
ms on a 2-core machine, and every call that arrived meanwhile waited for it.

``tune_gc_after_startup`` (called by a service's ``main`` once it serves) collects once,
then ``gc.freeze()``s what survives, so later collections never walk the startup objects
again (they are never freed, as they never would have been). Full passes then take a
few milliseconds instead of tens.

It leaves the thresholds at CPython's (700, 10, 10): a young pass walks every container
allocated since the last one that is still alive, and a service allocates many that stay
(cached tenants, in-flight calls), so on the same 2-core machine a pass every 5,000
allocations took up to 4 ms of CPU and one every 20,000 up to 29 ms, against under 3 ms
at 700. Rarer passes cost less CPU in all, but the tail is made of the longest pauses.

Nothing about reference counting changes: most garbage is still freed the moment it is
dropped; only reference cycles wait for a collection.
"""

from __future__ import annotations

import gc

from parkos.logging import get_logger

log = get_logger(__name__)


def tune_gc_after_startup(thresholds: tuple[int, int, int] | None = None) -> None:
    """Freeze the objects made while starting (see module doc); ``thresholds``: also set those."""
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)
    log.info("gc tuned", frozen=gc.get_freeze_count(), thresholds=list(gc.get_threshold()))
