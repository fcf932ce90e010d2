"""The store kernel: models, fields, the write and read paths, access, audit, bindings, crypto and its rotation."""
