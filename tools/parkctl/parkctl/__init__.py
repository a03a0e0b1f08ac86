"""parkctl: the park administrators' command line.

It talks to the services through their public gRPC APIs only (never to a database), with
the token in ``--token`` or ``PARKCTL_TOKEN``. Readable tables by default, ``--json`` for
scripts; a refused call prints the gRPC status and the fields it names, and exits non-zero.
"""
