"""The shared library's packages import their names on first use: each name they export resolves."""

from __future__ import annotations

import parkos.auth
import parkos.grpc
import pytest


@pytest.mark.parametrize("package", [parkos.auth, parkos.grpc], ids=["parkos.auth", "parkos.grpc"])
def test_every_name_a_lazy_package_exports_resolves(package) -> None:  # type: ignore[no-untyped-def]
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError):
        package.not_exported  # noqa: B018
