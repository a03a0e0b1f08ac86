"""What the store's lists can be asked for."""

from __future__ import annotations

import pytest

from services.trades.queries import OrderQuery


@pytest.mark.parametrize("side", [{"buyer_tenant_id": "ten_b"}, {"seller_tenant_id": "ten_s"}])
def test_a_list_of_both_sides_of_a_tenant_cannot_also_name_one_side(side: dict[str, str]) -> None:
    # the store reads each side through its own index: a buyer or seller given too would be dropped
    with pytest.raises(ValueError, match="either_tenant_id"):
        OrderQuery(either_tenant_id="ten_a", **side)


def test_a_list_of_both_sides_takes_the_other_filters() -> None:
    assert OrderQuery(either_tenant_id="ten_a", product_id="prd_1").product_id == "prd_1"
