"""The tenants database's collections (besides the outbox's)."""

TENANTS_COLLECTION = "tenants"
SUB_PARKS_COLLECTION = "sub_parks"
SECTORS_COLLECTION = "sectors"
CREDENTIALS_COLLECTION = "credentials"
REVENUE_COLLECTION = "revenue_reports"
