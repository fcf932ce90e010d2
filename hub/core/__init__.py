"""The CRM record store: models, the write path, access, audit, bindings, crypto."""
