"""The ``parkctl`` entry point: global options, command groups, readable gRPC errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import grpc
import typer
from parkos.grpc import client_credentials
from typer.core import TyperGroup

from parkctl import auth, orders, pools, products, tenants
from parkctl import analytics
from parkctl.output import report_rpc_error
from parkctl.session import DEFAULT_TENANTS_TARGET, DEFAULT_TRADES_TARGET, Session


class ParkctlCommands(TyperGroup):
    """The command groups; a refused gRPC call prints its status and field violations (as JSON with
    ``--json``) and exits 2 (or 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except grpc.RpcError as error:
            # Caught here, while the session is still known: it says which service was asked,
            # so an unreachable one is named by its own option.
            session = ctx.obj if isinstance(ctx.obj, Session) else Session()
            code = report_rpc_error(error, session.target_option, session.correlation_id, flags=session.flags,
                                    as_json=session.json)
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=ParkctlCommands,
    help="Park OS administration over the services' public gRPC APIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tenants.app, name="tenants")
app.add_typer(products.app, name="products")
app.add_typer(orders.app, name="orders")
app.add_typer(pools.app, name="pools")
app.add_typer(analytics.app, name="analytics")
app.add_typer(auth.app, name="auth")


@app.callback()
def options(
    ctx: typer.Context,
    tenants_target: Annotated[str, typer.Option("--tenants-target", envvar="PARKCTL_TENANTS_TARGET",
                                                help="host:port of the tenants service")] = DEFAULT_TENANTS_TARGET,
    trades_target: Annotated[str, typer.Option("--trades-target", envvar="PARKCTL_TRADES_TARGET",
                                               help="host:port of the trades service")] = DEFAULT_TRADES_TARGET,
    token: Annotated[str | None, typer.Option("--token", envvar="PARKCTL_TOKEN", help="Bearer token",
                                              show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each call")] = 10.0,
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", envvar="PARKCTL_TLS_CA", exists=True, dir_okay=False,
                                                help="CA of services that speak TLS (PEM)", show_default=False)] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", envvar="PARKCTL_TLS_CERT", exists=True,
                                                  dir_okay=False, help="this client's certificate, for mutual TLS",
                                                  show_default=False)] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", envvar="PARKCTL_TLS_KEY", exists=True, dir_okay=False,
                                                 help="the certificate's key", show_default=False)] = None,
    tls_server_name: Annotated[str | None, typer.Option(
        "--tls-server-name", envvar="PARKCTL_TLS_SERVER_NAME", show_default=False,
        help="the name in the services' certificate, when the target differs (e.g. localhost via a port-forward)",
    )] = None,
) -> None:
    """Global options, before the command."""
    try:
        credentials = client_credentials(tls_ca, tls_cert, tls_key)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    session = Session(tenants_target=tenants_target, trades_target=trades_target, token=token, json=json_output,
                      timeout=timeout, credentials=credentials, tls_server_name=tls_server_name)
    ctx.obj = session
    ctx.call_on_close(session.close)


def main() -> None:
    """Run parkctl."""
    app()


if __name__ == "__main__":
    main()
