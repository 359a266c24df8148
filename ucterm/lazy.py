"""Names a package exports but imports on first use (PEP 562's module `__getattr__`).

The packages whose modules bring asyncssh, httpx or cryptography (`ucterm.scan`, `ucterm.renewal`,
`ucterm.vos`) list those names in a table and hand it here, so that importing the package for its
pure parts (the model, the journal, the transport rule) costs the TUI's first frame and
`ucterm jobs` nothing. A name is imported once, then kept in the package's namespace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["loader"]


def loader(package: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: `names` maps an exported name to its module in the package."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
