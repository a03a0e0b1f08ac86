"""Park OS benchmarks: run from the repository root, e.g. `.venv/bin/python -m bench.outbox`."""
