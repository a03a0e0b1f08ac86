"""Interpreter settings for the SecantusDB process (on its PYTHONPATH; infra/secantus.sh sets it).

SecantusDB is a Python server, and CPython's full (generation-2) garbage collection stops the
whole server while it walks every object the server holds. Under a steady write load that
happened every ~30 s and took 100-400 ms, growing with the heap (measured with a ping probe
next to two transactional writers: stalls of 31, 98, 169, 342 and 401 ms in three minutes).
Every client saw them as latency spikes, whatever it was doing.

Full collections are pushed out of reach here; the young generations still collect, and they
are where a server's short-lived cyclic garbage dies. Measured over 80,000 transactions, the
process ended at the same resident memory with and without full collections (~425 MB, once
the WiredTiger cache had filled: 96 -> 421 MB with them, 282 -> 427 MB without; and 60 -> 212
vs 60 -> 213 MB over 39,000 in bench/store_pauses.py), and the stalls were gone.
"""
import gc

gc.set_threshold(700, 10, 1_000_000)
