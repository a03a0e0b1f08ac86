"""What every parkctl command shares: where the services are, the caller's token, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from park.analytics.v1 import analytics_pb2_grpc
from park.tenants.v1 import tenants_pb2_grpc
from park.trades.v1 import trades_pb2_grpc
from parkos.auth import Role
from parkos.grpc import open_sync_channel
from parkos.ids import new_correlation_id

DEFAULT_TENANTS_TARGET = "127.0.0.1:50051"
DEFAULT_TRADES_TARGET = "127.0.0.1:50052"
# the fields every list command fills from the same two options
PAGE_FLAGS = {"page.page_size": "--page-size", "page.page_token": "--page-token"}


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
    # the option that says where the service last asked is: what to check when it cannot be reached
    target_option: str = "--tenants-target"
    # one id for every call of this command, sent with each: the services' log lines of its calls carry it
    correlation_id: str = field(default_factory=new_correlation_id)
    # the request's field names -> the options the command filled them from (set by each command),
    # so a server's complaint about ``idempotency_key`` also names the ``--key`` the user typed
    flags: dict[str, str] = field(default_factory=dict)
    _channels: list[grpc.Channel] = field(default_factory=list)

    def tenants(self) -> tenants_pb2_grpc.TenantsServiceStub:
        """A stub of the tenants service that sends this session's token."""
        self.target_option = "--tenants-target"
        return tenants_pb2_grpc.TenantsServiceStub(self._open(self.tenants_target))

    def trades(self) -> trades_pb2_grpc.TradesServiceStub:
        """A stub of the trades service that sends this session's token."""
        self.target_option = "--trades-target"
        return trades_pb2_grpc.TradesServiceStub(self._open(self.trades_target))

    def analytics(self, target: str) -> analytics_pb2_grpc.AnalyticsServiceStub:
        """A stub of the analytics service at ``target`` (given by ``parkctl analytics --target``)."""
        self.target_option = "analytics --target"
        return analytics_pb2_grpc.AnalyticsServiceStub(self._open(target))

    def token_tenant(self) -> str | None:
        """The tenant this session's token is bound to, when it is a tenant token.

        The claims are read without checking the signature: they only choose what to ask for,
        and the services verify the token and decide.
        """
        claims = _unverified_claims(self.token or "")
        tenant_id = claims.get("tid")
        if claims.get("role") != Role.TENANT or not isinstance(tenant_id, str) or not tenant_id:
            return None
        return tenant_id

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()

    def _open(self, target: str) -> grpc.Channel:
        """A channel to ``target`` with this session's token and transport security, closed at exit."""
        options = [("grpc.ssl_target_name_override", self.tls_server_name)] if self.tls_server_name else []
        channel = open_sync_channel(target, token=self.token, correlation_id=self.correlation_id,
                                    credentials=self.credentials, options=options)
        self._channels.append(channel)
        return channel


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, its signature not checked; nothing when it is not one."""
    import jwt  # here: only `analytics watch` reads claims, and PyJWT slows every command's start

    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
