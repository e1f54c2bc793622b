"""Schemathesis against real servers: generated requests, replies checked against the document.

The servers are ``tasktrack serve`` processes over HTTP, on SQLite and on PostgreSQL, seeded
with an API key and tasks in every status (tests/integration/openapi_fuzz_support.py), so that
generated task ids often name a real task (200, 409, 304) rather than always missing (404).

Every check schemathesis has runs on every generated request (what ``st run --checks all``
runs): no 500, a documented status, media type, body and headers; schema-invalid requests
refused (4xx) and schema-valid ones accepted (not a 400, 406, 415 or 422); required headers
enforced; a truthful 405 ``Allow``; nothing served after it was deleted; and authentication
enforced (``ignored_auth`` resends each accepted request without the key, and with a bad
credential beside it). ``object_level_authorization`` needs several identities configured
([auth.wfc]) to act; test_auth_tenants covers other organisations' tasks.

Operations the document describes but this build does not serve are skipped; the unit test
``test_openapi.py`` keeps that list honest. test_openapi_targeted.py has the cases the
generator cannot reach (304s, 204s, cursor walks, credentials, 406s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    object_level_authorization,
    positive_data_acceptance,
    unsupported_method,
    use_after_free,
)

from tests.integration.openapi_fuzz_support import (
    CHECKS,
    DOCUMENT,
    SERVED,
    Seeded,
    load_schema,
    seeded_fixture,  # noqa: F401 (provides the `seeded` fixture)
    steer,
    template,
)

pytestmark = pytest.mark.timeout(600)

#: Every check schemathesis has, on every generated request (see the module's docstring).
ALL_CHECKS = [
    *CHECKS,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    use_after_free,
    ensure_resource_availability,
    ignored_auth,
    object_level_authorization,
]
schema = load_schema()


def _conformance_test(operation_id: str) -> Callable[..., None]:
    """The fuzz test of one operation."""

    @schema.include(operation_id=operation_id).parametrize()
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def test(case: schemathesis.Case[Any], seeded: Seeded) -> None:
        headers = steer(case, seeded)
        url = seeded.auth_url if case.path.startswith("/auth/") else seeded.url
        case.call_and_validate(url, headers=headers, checks=ALL_CHECKS)

    return test


# One test function per operation, not one ``schema.parametrize()`` over all of them: with
# schemathesis 4.32 on pytest 9.2 the items of one parametrized function share a node id, and
# pytest-xdist (``make test`` runs ``-n 2``) then runs only one of them.
OPERATION_IDS = [
    operation["operationId"]
    for path, item in DOCUMENT["paths"].items()
    if template(path) in SERVED
    for operation in item.values()
]
for _operation_id in OPERATION_IDS:
    globals()[f"test_{_operation_id}_replies_conform"] = _conformance_test(_operation_id)


def test_every_served_operation_is_fuzzed() -> None:
    assert len(list(schema.get_all_operations())) == len(OPERATION_IDS) >= 10
    assert {"readTask", "readTaskNew", "createTask", "cancelTask", "indexTasks"} <= set(
        OPERATION_IDS
    )
    assert {"readTaskResult", "readTaskDetailsNew", "rerunTask", "rerunTaskNew"} <= set(
        OPERATION_IDS
    )
