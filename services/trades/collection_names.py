"""The trades database's collections."""

PRODUCTS = "products"
ORDERS = "orders"
SETTLEMENTS = "settlements"
LICENSES = "licenses"
REFUNDS = "refunds"
POOLS = "pools"
# The tenant directory: tenants ({"kind": "tenant", "_id": tenant id}), sub-park fee rates
# ({"kind": "fee_rate", "_id": "fee_rate/<sub-park id>"}) and sectors ({"kind": "sector",
# "_id": "sector/<sector id>"}) share one collection; the order path reads them by _id.
DIRECTORY = "directory"
