"""Outbox benchmark: what the transactional outbox costs and how fast it reaches Kafka.

In one run, against the running local infrastructure (`make infra-up`), on a fresh
topic and fresh databases:

  A  raw Kafka producer: Park OS's idempotent acks=all producer sending N records
     pipelined; only acknowledged records count; per-record send->ack latency.
  B  bare Mongo transaction: two inserts (a state doc + a row doc) through
     `run_in_transaction`, closed loop at a few concurrencies; the best is the
     sustainable write rate.
  C  outbox write: the same transaction with the row written by `append_to_outbox`
     (state doc + outbox row), relay not running.
  D  relay drain: a backlog of committed unsent rows, piled up while a relay that had
     stored its position was stopped, drained by an `OutboxRelay` (published and
     acknowledged); events/s and the ratio to A's acknowledged rate. Beside it, the same
     rows read by a bare change stream (the store's ceiling for reading in commit
     order), and how long the relay then takes to mark them all sent.
  E  commit->Kafka latency: paced (open-loop) writers, the relay running and notified
     after each commit, a consumer reading the topic; latency = consumer receipt -
     transaction commit (same process, monotonic clock). First at C's rate: the rate the
     writers achieve there with the relay publishing is the sustainable write rate (C's
     writers ran alone); then at a fraction (half) of that, the target's run.

It ends with the targets (issue 2): D >= 50% of A, E p99 <= 50 ms at half the
sustainable write rate; each PASS or MISS as measured.

usage (from the repository root):
  .venv/bin/python -m bench.outbox            # default run, about 2 minutes on 2 cores
  .venv/bin/python -m bench.outbox --quick    # smoke run, about 30 s

The modules, in the order a run uses them:

  settings.py      the sizes of a run: the flags, --quick's defaults, the relay options
  events.py        the events and state documents every step writes
  raw_producer.py  A, and its table
  transactions.py  B and C (the two transactions, the concurrency sweep), and their table
  drain.py         D, and its table
  latency.py       E, and its table
  summary.py       the summary table and the targets
  __main__.py      the run: names, header, set-up, A..E in order, clean-up

  profile.py       separate: `python -m bench.outbox.profile` times one relay batch step by
                   step (the read shapes, send + ack, the mark shapes, change-stream replay)

Helpers other benchmarks can use (load drivers, the topic watcher, tables) are in
`bench.common`.
"""
