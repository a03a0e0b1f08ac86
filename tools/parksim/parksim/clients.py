"""The simulator's connections: aio gRPC stubs of every running service, with an admin token."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
from park.analytics.v1 import analytics_pb2_grpc
from park.tenants.v1 import tenants_pb2_grpc
from park.trades.v1 import trades_pb2_grpc

from parkos.auth import Role, TokenIssuer
from parkos.grpc import open_channel


def mint_admin_token(signing_key_file: Path, *, ttl: timedelta = timedelta(hours=12)) -> str:
    """An admin token signed locally with the park's key, as `parkctl auth admin-token` does."""
    issuer = TokenIssuer(signing_key_file.read_bytes())
    return issuer.issue(Role.ADMIN, "park-simulator", ttl=ttl).token


@dataclass
class ParkClients:
    """Stubs for the services the simulator drives; closed together."""

    tenants_target: str
    token: str
    trades_target: str | None = None
    analytics_target: str | None = None
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def tenants(self, token: str | None = None) -> tenants_pb2_grpc.TenantsServiceStub:
        """The tenants service, as the admin or with another caller's token."""
        return tenants_pb2_grpc.TenantsServiceStub(self._open(self.tenants_target, token or self.token))

    def trades(self, token: str | None = None) -> trades_pb2_grpc.TradesServiceStub:
        """The trades service (only when it runs), as the admin or as a tenant."""
        assert self.trades_target, "the trades service is not part of this park"
        return trades_pb2_grpc.TradesServiceStub(self._open(self.trades_target, token or self.token))

    def analytics(self) -> analytics_pb2_grpc.AnalyticsServiceStub:
        """The analytics service (only when it runs), as the admin: it sees the whole park."""
        assert self.analytics_target, "the analytics service is not part of this park"
        return analytics_pb2_grpc.AnalyticsServiceStub(self._open(self.analytics_target, self.token))

    def _open(self, target: str, token: str) -> grpc.aio.Channel:
        channel = open_channel(target, token=token)
        self._channels.append(channel)
        return channel

    async def close(self) -> None:
        """Close every channel opened so far."""
        for channel in self._channels:
            await channel.close()
        self._channels.clear()
