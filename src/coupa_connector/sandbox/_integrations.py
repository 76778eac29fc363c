"""Coupa's integration monitoring objects: integrations, their runs, errors and history.

Coupa keeps what integrations did in four resources (Core Platform Swagger, R38/R39):
``integrations`` (``code``, ``name``, ``direction``, ``end-system``, ``business-object``),
``integration_runs`` (created pending, moved by ``PUT /:id/run|pause|pending|fail|success|
finish``, and since R38 ``PUT /:id/max_updated_at`` to keep the last exported timestamp),
``integration_errors`` and ``integration_history_records`` (a document's type, id, status and
alert type). Their shape, actions and scopes (``core.integration.read``/``.write``) come from
the catalog; this module holds what the catalog cannot say:

* Coupa's element table for integration runs has shifted cells (the catalog notes a
  ``writable`` dispute, tables False against Swagger True), so every run field reads as
  read-only. The Swagger body of ``POST /integration_runs`` is an ``IntegrationRun``: the
  fields below are writable as Swagger says.
* ``max-updated-at``: the ``max_updated_at`` action stores a timestamp that Swagger names in
  the action ("Save last modified datetime exported") but not among the run's properties.
  The sandbox keeps it as the run's ``max-updated-at`` datetime ([I]: the element name).
* Integrations are referred to by ``code`` (``integration: {code: ...}``, as Coupa's
  history-record examples send it); the code is the integration's unique key.
* The run's state machine. Coupa names the actions, not the statuses; the sandbox's statuses
  are the actions' descriptions ([I]): ``pending``, ``running``, ``paused``, ``failed``,
  ``successful``, ``finished``. A run that failed, succeeded or finished takes no further
  status change (400, naming the status). Every action applies its body as an update first,
  so counts can travel with the transition.
* Errors and history records start unresolved; ``resolve`` and ``unresolve`` flip
  ``resolved`` (400 when it already is what the action asks).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from coupa_connector.catalog import FieldDef
from coupa_connector.sandbox._objects import ObjectView, Views

__all__ = [
    "FINAL_RUN_STATUSES",
    "RESOLUTIONS",
    "RUN_CREATE_STATUS",
    "RUN_TRANSITIONS",
    "install_integration_views",
]

RUNS = "integration_runs"
RUN_CREATE_STATUS = "pending"
FINAL_RUN_STATUSES = ("failed", "successful", "finished")
_OPEN = ("pending", "running", "paused")

# (resource, action) -> (statuses it may start from, status it leaves, fields it stamps now).
RUN_TRANSITIONS: dict[tuple[str, str], tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    (RUNS, "run"): (("pending", "paused"), "running", ("start-time",)),
    (RUNS, "pause"): (("running",), "paused", ()),
    (RUNS, "pending"): (("running", "paused"), "pending", ()),
    (RUNS, "fail"): (_OPEN, "failed", ("end-time",)),
    (RUNS, "success"): (_OPEN, "successful", ("end-time",)),
    (RUNS, "finish"): (_OPEN, "finished", ("end-time",)),
    # Keeping the watermark changes no status, and is allowed in every status.
    (RUNS, "max_updated_at"): ((*_OPEN, *FINAL_RUN_STATUSES), None, ()),
}

# Errors and history records are resolved and unresolved in any status: (resource, action)
# -> the value ``resolved`` takes.
RESOLUTIONS: dict[tuple[str, str], bool] = {
    (resource, action): action == "resolve"
    for resource in ("integration_errors", "integration_history_records")
    for action in ("resolve", "unresolve")
}

# Fields writable as Coupa's Swagger says, where its element table reads them as read-only.
_WRITABLE: dict[str, tuple[str, ...]] = {
    RUNS: ("integration", "total-records", "records-processed", "start-time", "end-time"),
}
# Fields the sandbox keeps that the catalog does not list.
_EXTRA: dict[str, tuple[FieldDef, ...]] = {
    RUNS: (
        FieldDef(
            name="max-updated-at",
            kind="datetime",
            description="The last modified datetime exported (PUT /integration_runs/:id/"
            "max_updated_at).",
        ),
    ),
}
# Natural keys a reference may name the record by: resource -> key fields.
_KEYS: dict[str, tuple[str, ...]] = {"integrations": ("code",)}


def install_integration_views(views: Views) -> None:
    """Give ``views`` the integration objects as the sandbox serves them (see above)."""
    for name in sorted({*_WRITABLE, *_EXTRA, *_KEYS}):
        if name not in views.catalog:
            continue
        base = views.view(views.catalog.get(name))
        views.put(_patched(base))


def _patched(view: ObjectView) -> ObjectView:
    fields: dict[str, FieldDef] = dict(view.obj.fields)
    for name in _WRITABLE.get(view.name, ()):
        if name in fields:
            fields[name] = dataclasses.replace(fields[name], writable=True)
    extra = [fd for fd in _EXTRA.get(view.name, ()) if fd.name not in fields]
    fields.update((fd.name, fd) for fd in extra)
    obj = dataclasses.replace(view.obj, fields=MappingProxyType(fields))
    keys = tuple(dict.fromkeys((*view.key_fields, *_KEYS.get(view.name, ()))))
    return dataclasses.replace(
        view, obj=obj, order=(*view.order, *(fd.name for fd in extra)), key_fields=keys
    )
