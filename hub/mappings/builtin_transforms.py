"""The built-in transforms, registered through the same ``register_transforms`` hook as plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.hookspecs import hookimpl
from hub.mappings import code_transforms, date_transforms, number_transforms, text_transforms


@hookimpl
def register_transforms() -> Mapping[str, Any]:
    """Every built-in transform factory by name (``lookup`` is part of the language, not here)."""
    return {
        **text_transforms.FACTORIES,
        **number_transforms.FACTORIES,
        **date_transforms.FACTORIES,
        **code_transforms.FACTORIES,
    }
