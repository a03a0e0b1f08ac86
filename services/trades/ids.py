"""The kinds of ids the trades service makes (``prd_...``, ``ord_...``) and the ids a settlement needs."""

from __future__ import annotations

from parkos.ids import new_id

from services.trades.settlement import OrderIds

TENANT = "ten"  # made by the tenants service
PRODUCT = "prd"
ORDER = "ord"
POOL = "pol"
SETTLEMENT = "stl"
LICENSE = "lic"
REFUND = "rfd"


def new_order_ids() -> OrderIds:
    """Fresh ids for one order's settlement and license grant."""
    return OrderIds(settlement_id=new_id(SETTLEMENT), license_id=new_id(LICENSE))
