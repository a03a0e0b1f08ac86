"""``parkctl auth ...``: the operator's bootstrap of the first admin token.

The tenants service issues every other token (``parkctl tenants credentials issue``), but
that call itself needs an admin. Whoever holds the park's signing key (the operator who
deployed it) can sign an admin token locally; nothing is stored and no service is called.
Keep such tokens short-lived and use them to issue named, revocable admin credentials.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from parkos.auth import Role

from parkctl.output import fail

if TYPE_CHECKING:
    from parkos.auth import TokenIssuer

app = typer.Typer(help="Tokens for bootstrapping (needs the signing key).", no_args_is_help=True)


@app.command("admin-token")
def admin_token(
    signing_key: Annotated[
        Path, typer.Option("--signing-key", envvar="PARKOS_TOKEN_PRIVATE_KEY_FILE", exists=True, dir_okay=False,
                           readable=True, help="The park's Ed25519 private key (PEM)")
    ],
    subject: Annotated[str, typer.Option(help="Who will use the token, for the logs")] = "admin:operator",
    ttl_hours: Annotated[int, typer.Option("--ttl-hours", min=1, max=24)] = 1,
    issuer: Annotated[str, typer.Option(envvar="PARKOS_TOKEN_ISSUER")] = "park-os",
) -> None:
    """Print a short-lived admin token signed with the park's key."""
    signer = _signer(signing_key, issuer)
    try:
        token = signer.issue(Role.ADMIN, subject, ttl=timedelta(hours=ttl_hours))
    except ValueError as error:  # e.g. an empty --subject
        fail(str(error))
    typer.echo(token.token)


def _signer(signing_key: Path, issuer: str) -> TokenIssuer:
    """The issuer of tokens signed with the key in ``signing_key``; a usage error for any other file."""
    # Imported here: the token code (PyJWT, cryptography) would slow every other command's start.
    from cryptography.exceptions import UnsupportedAlgorithm
    from parkos.auth import TokenIssuer

    try:
        return TokenIssuer(signing_key.read_bytes(), issuer=issuer)
    # the verification key, another kind of key, an encrypted key or not a key at all
    except (ValueError, TypeError, UnsupportedAlgorithm):
        fail(f"--signing-key {signing_key}: not an Ed25519 private key in PEM "
             "(the unencrypted private key, not the verification key)")
