"""Each simulated tenant's own API token, issued by an administrator as a real park would."""
from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from park.tenants.v1 import tenants_pb2

from parksim.clients import ParkClients


class TenantTokens:
    """Issues a tenant credential the first time a tenant's app needs to call, then reuses it."""

    def __init__(self, clients: ParkClients, *, ttl: timedelta = timedelta(hours=12)) -> None:
        self._tenants = clients.tenants()
        self._ttl = ttl
        self._tokens: dict[str, str] = {}

    async def token_of(self, tenant_id: str) -> str:
        """The tenant app's bearer token (role tenant, bound to `tenant_id`)."""
        if tenant_id not in self._tokens:
            issued = await self._tenants.IssueCredential(tenants_pb2.IssueCredentialRequest(
                role=tenants_pb2.ROLE_TENANT, tenant_id=tenant_id, label="park simulator app",
                ttl=Duration(seconds=int(self._ttl.total_seconds()))))
            self._tokens[tenant_id] = issued.token
        return self._tokens[tenant_id]
