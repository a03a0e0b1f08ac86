"""A time a caller sends is read as UTC, or refused naming its field; never an INTERNAL error."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from park.trades.v1 import trades_pb2

from parkos.errors import InvalidArgument
from parkos.timestamps import requested_time


def test_a_set_time_is_an_aware_utc_datetime_and_an_unset_one_none() -> None:
    request = trades_pb2.OpenPoolRequest()
    assert requested_time(request, "closes_at") is None
    request.closes_at.FromDatetime(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert requested_time(request, "closes_at") == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "nanos"), [(10**12, 0), (-62135596801, 0), (0, -1), (0, 1_000_000_000)])
def test_a_time_out_of_range_is_invalid_argument_naming_the_field(seconds: int, nanos: int) -> None:
    request = trades_pb2.OpenPoolRequest()
    request.closes_at.seconds, request.closes_at.nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as refused:
        requested_time(request, "closes_at")
    assert [violation.field for violation in refused.value.violations] == ["closes_at"]
