"""The parts of the real-time analytics benchmark, ``python -m bench.realtime`` (see its docstring).

- ``processes``: the analytics worker and API, each in its own process, as `make run` starts them;
- ``market``: the tenants, the trades they make, and publishing them on a fixed schedule;
- ``observer``: what is timed -- a bare consumer, the API's pushes and reads, DataAssetValued;
- ``targets``: the issue's latency targets, checked against the measured figures.
"""
