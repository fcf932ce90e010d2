"""The service layer: every change a caller may make besides records, each checking an admin permission and
auditing in its own transaction. The CLI, the REST API, the console, Celery tasks and automation call these;
none of them runs SQL of its own.

One module per concept (users, roles, connector instances, mapping versions, runs, dead letters, ...); each
operation takes the Store and the acting Context first. ``hub.services.operation`` holds the transaction
shape they share.
"""
