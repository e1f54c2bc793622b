"""The document's retention operations: ``DELETE /tasks/{taskId}`` (ours), per prefix."""

from __future__ import annotations

from tasktrack.api.openapi.common import JsonObject, ref
from tasktrack.api.openapi.responses import replies


def retention_paths() -> dict[str, dict[str, JsonObject]]:
    """Operations to merge into the task paths, relative to a prefix."""
    return {
        "/tasks/{taskId}": {
            "delete": {
                "operationId": "deleteTask",
                "tags": ["Tasks"],
                "summary": "Delete a finished task (ours)",
                "description": (
                    "Remove a done, error or cancelled task of the caller's organisation, "
                    "with its result, attempt history and logs. A queued, active or "
                    "cancelling task is a 409 (cancel it first); read-only credentials get a "
                    "403. Finished tasks are also deleted automatically after their status's "
                    "retention age (TASKTRACK_RETENTION_*)."
                ),
                "parameters": [ref("parameters", "TaskId"), ref("parameters", "TaskProjectId")],
                "responses": {
                    "204": {"description": "Deleted; no body."},
                    **replies(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "NotFound",
                        "Conflict",
                        "TooManyRequests",
                        "InternalError",
                    ),
                },
            },
        },
    }
