"""The sizes of one run (the command-line flags and --quick's defaults), the targets, and
the fee rate of the park the run sets up."""
from __future__ import annotations

import argparse

from bench.common.cpu_placement import PLACEMENTS

BARE_RATIO_TARGET = 0.50
RPC_P99_TARGET_MS = 40.0
KAFKA_P99_TARGET_MS = 100.0
FEE_BPS = 250

DESCRIPTION = "Trades service benchmark: PlaceOrder over real gRPC, and RPC -> TradeSettled on Kafka, with baselines."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.trades", description=DESCRIPTION,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: short windows")
    parser.add_argument("--clients", type=int, default=16, help="concurrency N of the closed loops (K, B, P)")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per closed loop [8; quick 3]")
    parser.add_argument("--paced-seconds", type=float, default=None, help="seconds of the paced run Q [12; quick 4]")
    parser.add_argument("--buyers", type=int, default=20, help="buying tenants")
    parser.add_argument("--park-tenants", type=int, default=1000,
                        help="tenants the service's directory knows, trading or not (the park has ~1,000)")
    parser.add_argument("--products", type=int, default=5, help="approved products to order")
    parser.add_argument("--channels", type=int, default=2, help="gRPC channels the clients share")
    parser.add_argument("--pin", choices=PLACEMENTS, default=None,
                        help="give the service or the store a CPU of its own; everything else shares the rest")
    parser.add_argument("--keep", action="store_true", help="keep the run's database and topics")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.park_tenants = max(args.park_tenants, args.buyers + 1)  # the traders are tenants of the park too
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.paced_seconds = args.paced_seconds or (4.0 if args.quick else 12.0)
    return args
