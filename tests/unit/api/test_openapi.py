"""The OpenAPI document: valid OpenAPI 3.1, in step with the app's routes and the contract."""

from __future__ import annotations

import copy
import importlib.metadata
import re
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Route

import tasktrack
from tasktrack.api.app import create_app
from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi import openapi_document
from tasktrack.api.problems import PROBLEM_JSON
from tasktrack.api.renderers import RENDERERS
from tasktrack.api.representation import task_fields
from tasktrack.config import Settings
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import FILTERABLE, SORTABLE
from tasktrack.domain.task import CONTRACT_FIELDS, Task
from tasktrack.loader import load_registry
from tasktrack.service.registry import TaskRegistry

PREFIXES = ("/new/v2.0", "/v2.0")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: Documented routes whose handlers other work is adding. Each is tolerated only while the app
#: does not serve it yet; once served, its methods must match like any other route. Remove an
#: entry once its route is in main.
NOT_YET_SERVED: dict[str, set[str]] = {
    "/auth/oauth2/token": {"POST"},
    "/auth/oauth2/revoke": {"POST"},
    "/": {"GET"},
    "/static/{}": {"GET"},
    "/v2.0/events": {"GET"},
    "/new/v2.0/events": {"GET"},
}


@pytest.fixture(scope="module")
def registry() -> TaskRegistry:
    return load_registry([])


@pytest.fixture(scope="module")
def document(registry: TaskRegistry) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(openapi_document(registry))
    return loaded


def _template(path: str) -> str:
    """A path with its parameter names blanked: ``/tasks/{task_id}`` -> ``/tasks/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented_routes(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        _template(path): {method.upper() for method in item if method in METHODS}
        for path, item in document["paths"].items()
    }


def _served_routes() -> dict[str, set[str]]:
    app = create_app(Settings(), load_registry([]))
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route), f"unexpected route kind {route!r}; extend this test"
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette answers HEAD for every GET; documented in info
        served.setdefault(_template(route.path), set()).update(methods)
    return served


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


# --- the document is valid OpenAPI 3.1 -----------------------------------------------------


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_the_validator_would_catch_a_broken_document(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    broken["components"]["parameters"]["TaskId"]["in"] = "body"  # OpenAPI 2 spelling
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV31SpecValidator)
    dangling = copy.deepcopy(document)
    dangling["paths"]["/v2.0/tasks"]["get"]["parameters"].append(
        {"$ref": "#/components/parameters/NoSuchParameter"}
    )
    with pytest.raises(Exception, match="NoSuchParameter"):
        validate(dangling, cls=OpenAPIV31SpecValidator)


def test_version_is_the_package_version(document: dict[str, Any]) -> None:
    expected = getattr(tasktrack, "__version__", None) or importlib.metadata.version("tasktrack")
    assert document["info"]["version"] == expected


async def test_served_document_is_the_built_one(registry: TaskRegistry) -> None:
    app = create_app(Settings(), registry)
    transport = httpx.ASGITransport(app=app)  # no lifespan: /openapi.json needs no database
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == openapi_document(registry)


# --- routes: the document and the app agree ------------------------------------------------


def test_every_served_route_is_documented_with_its_methods(document: dict[str, Any]) -> None:
    documented = _documented_routes(document)
    for path, methods in _served_routes().items():
        assert path in documented, f"{path} is served but not documented"
        assert documented[path] == methods, (
            f"{path}: documented {documented[path]}, served {methods}"
        )


def test_every_documented_route_is_served(document: dict[str, Any]) -> None:
    served = _served_routes()
    for path, methods in _documented_routes(document).items():
        if path not in served and NOT_YET_SERVED.get(path) == methods:
            continue
        assert path in served, f"{path} is documented but not served"
        assert served[path] == methods, f"{path}: documented {methods}, served {served[path]}"


def test_task_routes_are_under_both_prefixes(document: dict[str, Any]) -> None:
    task_paths = {"/tasks", "/tasks/{taskId}", "/tasks/{taskId}/cancel", "/events"}
    task_paths |= {"/tasks/{taskId}/result", "/tasks/{taskId}/details", "/tasks/{taskId}/rerun"}
    task_paths |= {"/tasks/{taskId}/attempts"}  # issue 13
    task_paths |= {"/tasks/{taskId}/logs"}
    task_paths |= {"/schedules"}  # issue 14
    task_paths |= {"/webhooks", "/webhooks/{webhookId}", "/webhooks/{webhookId}/deliveries"}
    task_paths |= {"/workers", "/overview"}  # issue 16
    task_paths |= {"/scheduled-tasks"}  # issue 14
    for prefix in PREFIXES:
        for path in task_paths:
            assert prefix + path in document["paths"]
    new = {p.removeprefix("/new/v2.0") for p in document["paths"] if p.startswith("/new/v2.0")}
    old = {p.removeprefix("/v2.0") for p in document["paths"] if p.startswith("/v2.0")}
    assert new == old == task_paths
    for path in task_paths:
        assert (
            document["paths"]["/new/v2.0" + path].keys() == document["paths"]["/v2.0" + path].keys()
        )


def test_operation_ids_are_unique_and_every_operation_is_tagged(document: dict[str, Any]) -> None:
    operations = _operations(document)
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    assert {"readTask", "readTaskNew", "indexTasks", "cancelTask", "createTask"} <= set(ids)
    tags = {tag["name"] for tag in document["tags"]}
    for path, method, operation in operations:
        assert operation["tags"], f"{method} {path} has no tag"
        assert set(operation["tags"]) <= tags


# --- schemas -------------------------------------------------------------------------------


def test_task_schema_has_the_contract_fields_in_order(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    task = schemas["Task"]
    assert tuple(task["properties"]) == CONTRACT_FIELDS
    assert tuple(task["required"]) == CONTRACT_FIELDS
    assert tuple(schemas["HalTask"]["properties"]) == (*CONTRACT_FIELDS, "_links")
    props = task["properties"]
    assert props["_id"]["pattern"] == "^[0-9a-f]{24}$"
    assert props["_id"]["minLength"] == props["_id"]["maxLength"] == 24
    for name in ("createdAt", "lastChanged"):
        assert props[name]["type"] == "integer"
        assert (props[name]["minimum"], props[name]["maximum"]) == (0, 2147483647)
    for name in ("lastRunAt", "lastFinishedAt"):
        assert props[name]["type"] == ["string", "null"]
        assert props[name]["format"] == "date-time"
    assert props["status"]["enum"] == [status.value for status in Status]
    for name in ("currentStep", "totalStep"):
        assert props[name] == {**props[name], "type": "integer", "minimum": 0}
    for name in ("createdBy", "lastChangedBy", "name", "failReason"):
        assert props[name]["type"] == "string"


def test_create_task_names_are_the_registered_ones(
    document: dict[str, Any], registry: TaskRegistry
) -> None:
    create = document["components"]["schemas"]["CreateTask"]
    assert create["properties"]["name"]["enum"] == registry.names()
    assert create["required"] == ["name"]
    assert create["additionalProperties"] is False


def _sample_task(**changes: Any) -> Task:
    base = Task(
        id="6551f0c2a1b2c3d4e5000001",
        name="demo.sleep",
        data={"seconds": 1, "nested": {"list": [1, None, "x"]}},
        status=Status.QUEUED,
        org_id="a" * 24,
        created_by="1" * 24,
        created_at=1_700_000_000,
        last_changed=1_700_000_000,
        last_changed_by="1" * 24,
        total_step=10,
    )
    return base.evolve(**changes)


def test_real_renderings_validate_against_the_schemas(document: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    tasks = [
        _sample_task(),
        _sample_task(
            status=Status.ERROR,
            fail_reason="boom",
            current_step=3,
            last_run_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            last_finished_at=datetime(2024, 1, 2, 3, 4, 6, tzinfo=UTC),
        ),
    ]
    hal, plain = RENDERERS["application/hal+json"], RENDERERS["application/json"]
    href = "/new/v2.0/tasks/6551f0c2a1b2c3d4e5000001"
    for task in tasks:
        fields = task_fields(task)
        _validator(document, "Task").validate(orjson.loads(plain.task(fields, href)))
        _validator(document, "HalTask").validate(orjson.loads(hal.task(fields, href)))
    items = [(task_fields(task), href) for task in tasks]
    links: dict[str, str | None] = {"self": "/v2.0/tasks", "next": "/v2.0/tasks?next=x"}
    listing = (items, 2, "x", None, links)
    _validator(document, "TaskList").validate(orjson.loads(plain.task_list(*listing)))
    _validator(document, "HalTaskList").validate(orjson.loads(hal.task_list(*listing)))
    with pytest.raises(Exception, match="is not of type"):
        _validator(document, "Task").validate({**task_fields(tasks[0]), "createdAt": "now"})


# --- responses and parameters --------------------------------------------------------------


def _ref_target(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    parts = node["$ref"].removeprefix("#/").split("/")
    target: dict[str, Any] = document
    for part in parts:
        target = target[part]
    return target


def _responses(document: dict[str, Any], path: str, method: str) -> dict[str, dict[str, Any]]:
    operation = document["paths"][path][method]
    return {code: _ref_target(document, r) for code, r in operation["responses"].items()}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/tasks/{taskId}", "get", {"200", "304", "400", "401", "404", "406", "429", "500", "503"}),
        ("/tasks", "get", {"200", "400", "401", "406", "429", "500", "503"}),
        (
            "/tasks",
            "post",
            {"200", "201", "400", "401", "403", "406", "413", "415", "422", "429", "500", "503"},
        ),
        (
            "/tasks/{taskId}/cancel",
            "post",
            {"200", "400", "401", "403", "404", "406", "409", "429", "500", "503"},
        ),
    ],
)
def test_task_operations_document_their_statuses_and_media_types(
    document: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    for prefix in PREFIXES:
        responses = _responses(document, prefix + path, method)
        assert set(responses) == statuses
        for code, response in responses.items():
            content = response.get("content", {})
            if code in ("200", "201"):
                assert list(content) == list(SUPPORTED)
                for media in ("application/xml", "text/xml", "text/csv"):
                    assert content[media]["schema"] == {"type": "string"}
            elif code == "304":
                assert content == {}
            else:
                assert list(content) == [PROBLEM_JSON]


def test_list_parameters(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v2.0/tasks"]["get"]
    params = {p["name"]: p for p in (_ref_target(document, ref) for ref in operation["parameters"])}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 25,
    }
    assert params["skip"]["schema"]["minimum"] == 0
    assert params["filter"]["schema"]["maxLength"] == 200
    assert {"next", "previous", "sort", "projectId", "Accept"} <= params.keys()
    for field in FILTERABLE:
        assert params[field]["in"] == "query"
        assert params[field]["schema"]["type"] == "string"
    assert params["Accept"]["schema"]["enum"] == [*SUPPORTED, "*/*", "*"]
    sort = re.compile(params["sort"]["schema"]["pattern"])
    for field in SORTABLE:
        assert sort.fullmatch(f"{field}:desc")
        assert sort.fullmatch(f"createdAt:asc,{field}")
    assert not sort.fullmatch("failReason:asc")
    assert not sort.fullmatch("createdAt:up")


def test_read_parameters(document: dict[str, Any]) -> None:
    operation = document["paths"]["/new/v2.0/tasks/{taskId}"]["get"]
    params = {p["name"]: p for p in (_ref_target(document, ref) for ref in operation["parameters"])}
    task_id = params["taskId"]
    assert task_id["in"] == "path" and task_id["required"] is True
    assert task_id["schema"]["minLength"] == task_id["schema"]["maxLength"] == 24
    assert params["wait"]["schema"] == {"type": "number", "minimum": 0, "maximum": 60}
    assert params["If-None-Match"]["in"] == "header"


def test_security(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {
        **schemes["ApiKeyHeader"],
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["ApiKeyQuery"] == {**schemes["ApiKeyQuery"], "in": "query", "name": "api_key"}
    flows = schemes["OAuth2"]["flows"]
    assert flows["password"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"]
    assert flows["password"]["tokenUrl"] == "/auth/oauth2/token"
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert {name for alternative in document["security"] for name in alternative} == set(schemes)
    for path in ("/auth/oauth2/token", "/auth/oauth2/revoke", "/health", "/openapi.json"):
        assert document["paths"][path]["post" if "oauth2" in path else "get"]["security"] == []
    for path in PREFIXES:
        for _, _, operation in _operations({"paths": {path: document["paths"][path + "/tasks"]}}):
            assert "security" not in operation  # the top-level alternatives apply
