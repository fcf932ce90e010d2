from hub.core.actor import Context
from hub.core.store import Store


def test_create_and_get(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "Acme", "tax_id": "DE 123"})
    with store.reading(ctx) as tx:
        assert tx.get("accounts", a["id"])["tax_id"] == "DE 123"
