"""Helpers shared by tests: real Kafka reads (integration, end to end), certificates made for a test."""
