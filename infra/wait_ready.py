"""Waits until Kafka answers a metadata request or MongoDB answers ping: readiness, not just an open port."""
import argparse
import sys
import time


def kafka_ready(bootstrap: str) -> bool:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, client_id="parkos-wait")
    try:
        admin.list_topics()
        return True
    finally:
        admin.close()


def mongo_ready(uri: str) -> bool:
    from pymongo import MongoClient

    with MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
        return client.admin.command("ping").get("ok") == 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["kafka", "mongo"])
    parser.add_argument("address")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    probe = kafka_ready if args.kind == "kafka" else mongo_ready
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            if probe(args.address):
                return 0
        except Exception:  # not up yet: any connection error means "try again"
            pass
        time.sleep(0.5)
    print(f"{args.kind} at {args.address} not ready after {args.timeout}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
