"""The schema the migrations keep: one metadata holding the tables of every layer that has some.

hub/core declares the store's tables; hub/mappings (mapping versions) and hub/sync (runs, dead letters,
outbox, ...) add theirs to the same ``Base.metadata`` when their models are imported. The store kernel
must not import those higher layers (docs/architecture.md), so the full metadata is assembled here, next
to the migrations: by migrations/env.py for Alembic and by the callers of ``hub.core.migrate.drift``.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import hub.core.models
import hub.mappings.versions
import hub.sync.models

metadata: MetaData = hub.core.models.Base.metadata
