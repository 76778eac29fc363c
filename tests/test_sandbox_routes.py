"""Every route Coupa's Swagger lists for the objects the sandbox serves is answered: index,
show, create, update, delete and actions at the top level (the nested ones are in
test_sandbox_nested.py). A 404 may only say that a record does not exist."""

from __future__ import annotations

import re

import pytest

from _sandbox_api_support import Api, messages
from coupa_connector.sandbox._objects import default_views

# The requests change records (deletes and actions among them).
pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")

# What a 404 for a route itself says; a 404 for a record says "No <element> with id ...".
ROUTE_MISSING = ("No route matches", "No such resource", "No action")


def test_every_documented_route_of_a_served_object_is_answered(api: Api) -> None:
    views = default_views()
    routes = [
        (obj.name, route)
        for obj in views.catalog
        for route in obj.routes
        if not route.nested
        and obj.resource
        and ":" not in obj.resource
        and views.resource(obj.resource[len("/api/") :]) is obj
    ]
    statuses: dict[int, int] = {}
    for name, route in routes:
        found = api.get(f"/api/{name}", {"limit": 1}).json()
        rid = str(found[0]["id"]) if isinstance(found, list) and found else "1"
        path = route.path.replace(":id", rid)
        path = re.sub(r":[a-z_]+", "1", path)
        response = api.http.request(
            route.verb,
            path,
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            content=b"{}" if route.verb in ("POST", "PUT", "PATCH") else None,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (route.verb, path, response.text[:300])
        if response.status_code == 404 and response.content:
            said = " ".join(messages(response)) if response.json() else ""
            assert not any(m in said for m in ROUTE_MISSING), (route.verb, route.path, said)
    by_status = dict(sorted(statuses.items()))
    print(f"\n  swagger routes of served objects: {len(routes)}, by status {by_status}")
    assert len(routes) > 300
