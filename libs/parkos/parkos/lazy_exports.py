"""Package names imported from their modules on first use (PEP 562 module ``__getattr__``).

The shared library's packages re-export their modules' names; importing them all eagerly made
every user pay for the heaviest (a command-line client waited over a second for server,
settings and token code it never ran).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, module_of: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name from ``package.<module_of[name]>``."""
    namespace = importlib.import_module(package).__dict__

    def exported(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later lookups find it without calling this again
        return value

    return exported
