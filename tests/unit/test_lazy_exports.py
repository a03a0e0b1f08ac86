"""The shared library's packages import their names on first use: each still exports all it maps."""

from __future__ import annotations

import parkos.auth
import parkos.grpc


def test_the_lazy_packages_export_exactly_what_they_map() -> None:
    for package in (parkos.auth, parkos.grpc):
        assert sorted(package.__all__) == sorted(package._MODULE_OF)
        for name in package.__all__:
            assert getattr(package, name) is not None
