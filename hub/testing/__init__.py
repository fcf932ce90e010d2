"""Test helpers shipped with Hub: the connector contract suite that every connector's tests inherit.

    from hub.testing import ConnectorContract

pytest rewrites the suite's asserts (registered below, before the import), so failures show values.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConnectorContract"]


def __getattr__(name: str) -> Any:
    """Import the suite (and pytest) only when it is asked for: the sample servers here need neither."""
    if name != "ConnectorContract":
        raise AttributeError(f"module 'hub.testing' has no attribute {name!r}")
    import pytest

    pytest.register_assert_rewrite("hub.testing.contract")
    from hub.testing.contract import ConnectorContract

    return ConnectorContract
