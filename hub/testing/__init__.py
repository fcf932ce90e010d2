"""Test helpers shipped with Hub: the connector contract suite that every connector's tests inherit.

    from hub.testing import ConnectorContract

pytest rewrites the suite's asserts (registered below, before the import), so failures show values.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("hub.testing.contract")

from hub.testing.contract import ConnectorContract  # noqa: E402

__all__ = ["ConnectorContract"]
