"""Waits until Kafka answers a metadata request, MongoDB a ping, or a gRPC server says SERVING."""
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


def grpc_ready(target: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return response.status == health_pb2.HealthCheckResponse.SERVING


PROBES = {"kafka": kafka_ready, "mongo": mongo_ready, "grpc": grpc_ready}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=sorted(PROBES))
    parser.add_argument("address")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    probe = PROBES[args.kind]
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
