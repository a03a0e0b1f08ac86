"""Ids: prefixed, valid, and sorted by creation time."""

import re
import uuid

import pytest
from parkos.ids import is_valid_id, new_correlation_id, new_event_id, new_id

ID_SHAPE = re.compile(r"ten_[0-9A-HJKMNP-TV-Z]{26}")


def test_id_shape():
    value = new_id("ten")
    assert ID_SHAPE.fullmatch(value), value
    assert is_valid_id(value, "ten")


def test_ids_sort_in_creation_order():
    # Tens of thousands of ids fall in the same millisecond: uuid7's counter
    # must keep them ordered there too.
    ids = [new_id("ord") for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_id_order_matches_uuid7_time_order():
    # the encoded body sorts exactly like the underlying 128-bit value
    ids = [new_id("evt") for _ in range(1000)]
    assert sorted(ids) == ids


@pytest.mark.parametrize("prefix", ["t", "toolong", "Ten", "te1", "", "te_n", "tén"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError):
        new_id(prefix)


def test_validity_is_about_prefix_and_body():
    value = new_id("ten")
    body = value.removeprefix("ten_")
    assert not is_valid_id(value, "ord")
    assert not is_valid_id(body, "ten")
    assert not is_valid_id("ten_" + body.lower(), "ten")  # one canonical spelling
    assert not is_valid_id("ten_" + body[:-1], "ten")
    assert not is_valid_id("ten_" + body + "0", "ten")
    assert not is_valid_id("ten_" + body[:-1] + "U", "ten")  # U is not Crockford
    assert not is_valid_id("ten_8" + body[1:], "ten")  # more than 128 bits
    assert not is_valid_id("ten-" + body, "ten")
    assert not is_valid_id(None, "ten")  # type: ignore[arg-type]
    assert not is_valid_id("ten_" + "0" * 26, "ten")  # not a UUIDv7


def test_event_and_correlation_ids_are_uuid7():
    for value in (new_event_id(), new_correlation_id()):
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 7
    events = [new_event_id() for _ in range(10_000)]
    assert events == sorted(events)
    assert new_correlation_id() != new_correlation_id()
