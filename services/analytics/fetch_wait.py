"""How long the worker's fetches may wait at the broker: Faust fixes 1,500 ms; analytics sets 100.

aiokafka keeps one fetch in flight per broker, and a partition whose fetched records the
agents have not taken yet is left out of the next fetch (for the first 100 ms after such
records arrive, its `prefetch_backoff`, no fetch goes to that broker at all). Faust stops
taking a partition's records while its agent's buffer is full. Under load, the next fetch
can then name only partitions that are quiet (a topic with no traffic, say) and the broker
holds it for the whole wait, since nothing arrives for them. Meanwhile the agents empty
their buffers and sit idle, and the busy partitions cannot be fetched until the held fetch
returns.

Measured with `bench/realtime.py --pin worker`, the worker alone on a CPU: with Faust's
1,500 ms the worker used 0.73-0.77 of its core while falling behind at 500 events/s
(p99 6.1-6.3 s); with 100 ms it used 0.91-0.98 of it, and 500/s held in 2 of 3 runs (p99
638 and 717 ms; 2.1 s in the third). A fetch that finds records returns at once either way,
so the wait costs no latency; a quiet worker sends one fetch per wait instead of one per 1.5 s.

Why 100 ms was opt-in for a while: in one of two clean-clone CI runs with it as the default,
the two-worker test ended one TradeSettled short after the rebalance that split the
partitions, and in two of four runs of the analytics and e2e suites with it the SIGKILL
exactness test ended a few trades short. The cause was not the wait but Faust's handling of
records around a rebalance, which a quicker fetch exposed more often: records delivered
before the seek to the committed offsets, a stale batch moving Faust's read offset past
records fetched again (then dropped as already read), and buffers emptied after the seek.
With 1,500 ms too: a first version of the order checks, which stopped the worker on a gap,
stopped both workers of one two-worker run (a fresh partition's first record missing after
the split; 36 records of a taken-over partition never reaching the agent). commit_barrier.py and partition_order.py now make the agents process every partition
strictly in order and fetch missing records again; with them, the analytics and e2e suites
passed three times out of three with 100 ms and twice out of twice with 1,500 ms (none
needed a refetch for a gap), and 100 ms is the default. 1,500 ms stays settable.
"""
from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

FAUST_FETCH_MAX_WAIT_MS = 1500


class FetchWaitThread(AIOKafkaConsumerThread):
    """faust's aiokafka consumer thread; its fetches wait at most the Faust consumer's
    ``fetch_max_wait_ms`` (commit_barrier.ProcessedOnlyConsumer carries it)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        set_fetch_max_wait(consumer, self.consumer.fetch_max_wait_ms)
        return consumer


def set_fetch_max_wait(consumer: Any, milliseconds: int) -> None:
    """Give a not yet started aiokafka consumer another ``fetch_max_wait_ms``.

    The constructor's value is kept in a private attribute and handed to the fetcher at
    start (aiokafka 0.14, pinned); fail loudly rather than silently keep 1,500 ms if that changes.
    """
    if not isinstance(getattr(consumer, "_fetch_max_wait_ms", None), int):
        raise RuntimeError("aiokafka's consumer no longer keeps _fetch_max_wait_ms: revisit fetch_wait.py")
    consumer._fetch_max_wait_ms = milliseconds
