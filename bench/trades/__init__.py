"""Trades service benchmark: PlaceOrder over real gRPC, and RPC -> TradeSettled on Kafka, with baselines.

In one run, against the running local infrastructure (`make infra-up`):

  0  the trades service is started as it runs in production (`python -m
     services.trades.main`, JSON logs at INFO with an access-log line per call), in its
     own process, on a fresh database and topics; the park's nine sub-parks with their fee
     rates and its tenants (1,000 by default, --park-tenants; 21 of them trade) reach it as
     park.tenants.v1 events (as the tenants service publishes them); a few products are
     listed and approved. The directory's size matters: a read that scans it instead of
     using an index costs ~50 ms of store time per order at 1,000 tenants.
  K  raw Kafka producer: Park OS's idempotent acks=all producer, records of a
     TradeSettled's size pipelined by N senders; only acknowledged records count.
  B  bare Mongo transaction with an order's writes (order, settlement, license and two
     outbox rows, the same documents into collections with the service's indexes) through
     `run_in_transaction`, from this process: closed loop, N writers. The writes go as the
     service sends them, in one bulkWrite, after one read by _id (the store refuses a
     bulkWrite as a transaction's first command). PlaceOrder makes three reads by _id in its transaction.
  P  PlaceOrder (tenant tokens, a new idempotency key per call): closed loop, N clients;
     latency of the RPC, and of RPC start -> its TradeSettled read from Kafka by a
     consumer in this process.
  B1, P1  the same one at a time: the floor of a call's latency on this machine.
  Q  PlaceOrder paced (open loop) at half the rate P sustained; latency from each call's
     scheduled start (no coordinated omission), RPC and RPC -> Kafka.

Targets (issue 4): P >= 50% of B; at half the sustainable rate, RPC p99 <= 40 ms and
RPC -> Kafka p99 <= 100 ms.

usage (from the repository root):
  .venv/bin/python -m bench.trades            # default run, about 2 minutes
  .venv/bin/python -m bench.trades --quick    # smoke run, about 45 s

The modules, in the order a run uses them:

  settings.py          the flags, --quick's defaults, the targets and the park's fee rate
  service_process.py   0: the trades service in its own process, as in production
  park_setup.py        0: tenants and fee rates as park.tenants.v1 events, approved products
  arrivals.py          when each order's TradeSettled reaches a consumer of the trades topic
  sample_order.py      a settled order built by the domain, the documents B writes and K sends
  raw_producer.py      K
  bare_transaction.py  B and B1
  orders.py            P, P1 and Q: PlaceOrder calls by the buyers, closed loop and paced
  report.py            the tables and the targets
  __main__.py          the run: names, set-up, the steps in order, clean-up
"""
