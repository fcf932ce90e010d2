"""The Dynamics NAV / Business Central profile of the SOAP connector (type ``nav``): page web services.

    {"wsdl": "http://nav:7047/DynamicsNAV/WS/CRONUS/Page/Customer", "username": "hub", "password": "...",
     "streams": {"customers": {"page": "Customer", "ref_field": "Hub_Ref"}}}

A page web service has ``ReadMultiple(filter[], bookmarkKey, setSize)``, ``Read(No)``, ``Create(<page>)`` and
``Update(<page>)``; each record carries a ``Key`` that changes with every modification (NAV's optimistic
concurrency). This profile turns a few words per stream into the generic connector's stream spec: reads
filtered by ``modified_field >= since`` and paged by bookmark (the ``Key`` of the last record), the ``Key``
as version, writes by ``Create`` and ``Update`` with the current ``Key``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.erp.soap import (
    COMMON,
    FIELDS_SCHEMA,
    NAV_RETRYABLE,
    STREAM_NAME,
    TEXT,
    URL,
    Call,
    Position,
    SoapConnector,
    Spec,
    Write,
)

_NAV_STREAM: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "page": {**TEXT, "default": "Customer", "description": "the page's name as published (its entity)"},
        "wsdl": {**URL, "description": "this page's WSDL (default: the instance's wsdl)"},
        "id_field": {**TEXT, "default": "No"},
        "modified_field": {"type": ["string", "null"], "minLength": 1, "default": "Last_Date_Modified",
                           "description": "the modification date(time) read incrementally; null: full reads"},
        "filters": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["Field", "Criteria"],
            "properties": {"Field": TEXT, "Criteria": {"type": "string"}}}},
        "ref_field": {**TEXT, "description": "a text field (20+ characters) the connector stamps on records it "
                                              "creates, so a retried batch creates nothing twice"},
        "read_only": {"type": "boolean", "default": False},
        "fields": FIELDS_SCHEMA,
        "description": {"type": "string"},
    },
}


class NavConnector(SoapConnector):
    """Dynamics NAV / Business Central page web services: ReadMultiple with bookmarks, Create, Update by Key.

    Per stream (default ``{"customers": {"page": "Customer"}}``): ``ReadMultiple(filter[], bookmarkKey,
    setSize)`` with the filter ``modified_field >= since`` (plus the stream's own ``filters``), records
    identified by ``No`` with the page's ``Key`` as version; ``Read(No)``, ``Create(<page>)`` and
    ``Update(<page> with Key)`` for writes.
    """

    type_name = "nav"
    title = "Dynamics NAV / Business Central (SOAP page web services)"
    config_schema: ClassVar[dict[str, Any]] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["wsdl"],
        "additionalProperties": False,
        "properties": {
            **COMMON,
            "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100,
                          "description": "records per ReadMultiple call (setSize)"},
            "streams": {"type": "object", "minProperties": 1, "additionalProperties": _NAV_STREAM,
                        "propertyNames": {"pattern": STREAM_NAME}, "default": {"customers": {"page": "Customer"}}},
        },
    }
    default_retryable: ClassVar[list[str]] = NAV_RETRYABLE

    def _specs(self) -> dict[str, Spec]:
        size = int(self.config.get("page_size", 100))
        specs = {}
        for name, conf in (self.config.get("streams") or {"customers": {"page": "Customer"}}).items():
            page, id_field = conf.get("page", "Customer"), conf.get("id_field", "No")
            modified = conf.get("modified_field", "Last_Date_Modified")
            filters = [{"Field": modified, "Criteria": ">={since}"}] if modified else []
            filters += [dict(f) for f in conf.get("filters", [])]
            path = ("ReadMultiple_Result", page)
            read = Call("ReadMultiple", {"filter": filters}, path, "bookmark", "bookmarkKey", "setSize", size, "Key")
            ref = conf.get("ref_field")
            find = Call("ReadMultiple", {"filter": [{"Field": ref, "Criteria": "{ref}"}]}, path,
                        size_field="setSize") if ref else None
            write = None if conf.get("read_only") else Write(page, "Create", "Update", "Key", "Read", id_field, ref,
                                                             find)
            specs[name] = Spec(name, conf.get("wsdl", self.config["wsdl"]), read, id_field, write, "Key",
                               modified or None, conf.get("fields"), conf.get("description", f"NAV page {page}"))
        return specs

    def _read_args(self, spec: Spec, call: Call, pos: Position) -> dict[str, Any]:
        args = super()._read_args(spec, call, pos)
        if not args.get("filter"):  # ReadMultiple wants a filter: an empty criteria filters nothing
            args["filter"] = [{"Field": spec.id_field, "Criteria": ""}]
        return args

