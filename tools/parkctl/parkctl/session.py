"""What every parkctl command shares: where the services are, the caller's token, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from park.tenants.v1 import tenants_pb2_grpc
from park.trades.v1 import trades_pb2_grpc
from parkos.grpc import open_sync_channel

DEFAULT_TENANTS_TARGET = "127.0.0.1:50051"
DEFAULT_TRADES_TARGET = "127.0.0.1:50052"


@dataclass
class Session:
    """Options given before the command; channels are opened on first use and closed at exit."""

    tenants_target: str = DEFAULT_TENANTS_TARGET
    trades_target: str = DEFAULT_TRADES_TARGET
    token: str | None = None
    json: bool = False
    timeout: float = 10.0
    credentials: grpc.ChannelCredentials | None = None  # None: plaintext
    # the name the services' certificate carries, when the target is another (a port-forward's localhost)
    tls_server_name: str | None = None
    _channels: list[grpc.Channel] = field(default_factory=list)

    def tenants(self) -> tenants_pb2_grpc.TenantsServiceStub:
        """A stub of the tenants service that sends this session's token."""
        return tenants_pb2_grpc.TenantsServiceStub(self._open(self.tenants_target))

    def trades(self) -> trades_pb2_grpc.TradesServiceStub:
        """A stub of the trades service that sends this session's token."""
        return trades_pb2_grpc.TradesServiceStub(self._open(self.trades_target))

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()

    def _open(self, target: str) -> grpc.Channel:
        channel = self.open_channel(target)
        self._channels.append(channel)
        return channel

    def open_channel(self, target: str) -> grpc.Channel:
        """A channel to ``target`` with this session's token and transport security; the caller closes it."""
        options = [("grpc.ssl_target_name_override", self.tls_server_name)] if self.tls_server_name else []
        return open_sync_channel(target, token=self.token, credentials=self.credentials, options=options)
