"""A `shop` files connector for CLI tests: people as JSON Lines, one with a birthday that does not exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SPEC = """
mapping: people
source: {connector: shop, stream: people}
target: {module: contacts}
fields:
  last_name: {from: name}
  email: {from: mail, transform: [strip, lower]}
  birthday: {from: born, transform: [{date: {formats: ["%d.%m.%Y"]}}]}
match: [binding, {field: email}]
"""


@dataclass(frozen=True)
class ShopFiles:
    data: Path  # the folder of people-*.jsonl
    config: Path  # the connector config (JSON)
    spec: Path  # the mapping spec (YAML)


def write_shop(folder: Path, people: int, bad: int, mail: str = "p{i}@example.com") -> ShopFiles:
    """``people`` records in ``folder``/shop, record ``bad`` born on 31 February (the mapping rejects it)."""
    data = folder / "shop"
    data.mkdir()
    rows = [{"id": i, "name": f"Person {i}", "mail": mail.format(i=i), "born": "01.02.1990"} for i in range(people)]
    rows[bad]["born"] = "31.02.1990"
    (data / "people-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = folder / "shop.json"
    config.write_text(json.dumps({"path": str(data), "streams": {"people": {"pattern": "people-*.jsonl"}}}))
    spec = folder / "people.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return ShopFiles(data, config, spec)
