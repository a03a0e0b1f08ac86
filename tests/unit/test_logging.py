"""Logging: JSON lines carry service and correlation id; libraries are quieted."""

import io
import json
import logging
import uuid

import pytest
import structlog

from parkos.logging import (
    bind_correlation_id,
    configure_logging,
    current_correlation_id,
    get_logger,
)


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    structlog.contextvars.clear_contextvars()
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def json_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_service_and_correlation_id():
    out = io.StringIO()
    configure_logging("trades", environment="production", stream=out)
    bind_correlation_id("corr-123")
    structlog.contextvars.bind_contextvars(tenant_id="ten_A", event_id="evt-9")
    get_logger("parkos.test").info("order placed", order_id="ord_1")
    [line] = json_lines(out)
    assert line["event"] == "order placed"
    assert line["service"] == "trades"
    assert line["correlation_id"] == "corr-123"
    assert line["tenant_id"] == "ten_A" and line["event_id"] == "evt-9"
    assert line["order_id"] == "ord_1"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_module_loggers_made_before_configuration_follow_it():
    early = get_logger("parkos.early")
    out = io.StringIO()
    configure_logging("credit", environment="production", stream=out)
    early.info("hello")
    assert json_lines(out)[0]["service"] == "credit"


def test_level_filters_park_logs():
    out = io.StringIO()
    configure_logging("tenants", environment="production", level="WARNING", stream=out)
    log = get_logger("parkos.test")
    log.info("quiet")
    log.warning("loud")
    assert [line["event"] for line in json_lines(out)] == ["loud"]


def test_library_logs_only_from_warning_and_in_the_same_format():
    out = io.StringIO()
    configure_logging("tenants", environment="production", level="DEBUG", stream=out)
    bind_correlation_id("corr-lib")
    logging.getLogger("aiokafka.consumer").info("rebalance chatter")
    logging.getLogger("pymongo.topology").warning("server %s down", "db1")
    [line] = json_lines(out)
    assert line["event"] == "server db1 down"
    assert line["service"] == "tenants"
    assert line["logger"] == "pymongo.topology"
    assert line["correlation_id"] == "corr-lib"


def test_exceptions_are_rendered_into_the_json_line():
    out = io.StringIO()
    configure_logging("trades", environment="production", stream=out)
    try:
        raise RuntimeError("settlement failed")
    except RuntimeError:
        get_logger("parkos.test").exception("oops")
    [line] = json_lines(out)
    assert "RuntimeError: settlement failed" in line["exception"]


def test_configuring_twice_does_not_duplicate_lines():
    first, second = io.StringIO(), io.StringIO()
    configure_logging("trades", environment="production", stream=first)
    configure_logging("trades", environment="production", stream=second)
    get_logger("parkos.test").info("once")
    logging.getLogger("grpc").error("also once")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once", "also once"]


def test_development_output_is_readable_not_json():
    out = io.StringIO()
    configure_logging("trades", environment="development", stream=out)
    bind_correlation_id("corr-dev")
    get_logger("parkos.test").info("order placed", order_id="ord_1")
    text = out.getvalue()
    assert "order placed" in text and "order_id=ord_1" in text
    assert "corr-dev" in text and "service=trades" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_unknown_level_is_refused():
    with pytest.raises(ValueError):
        configure_logging("trades", level="CHATTY")


def test_correlation_id_helpers():
    assert current_correlation_id() is None
    assert bind_correlation_id("given") == "given"
    assert current_correlation_id() == "given"
    generated = bind_correlation_id(None)
    assert uuid.UUID(generated).version == 7
    assert current_correlation_id() == generated


async def test_correlation_ids_do_not_leak_between_tasks():
    import asyncio

    async def handle(value):
        bind_correlation_id(value)
        await asyncio.sleep(0)
        return current_correlation_id()

    results = await asyncio.gather(*(handle(f"c{i}") for i in range(20)))
    assert results == [f"c{i}" for i in range(20)]
