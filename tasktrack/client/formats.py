"""Tasks as text, written as they arrive: JSON, YAML, or the contract's CSV (a header of the 13
field names, one row per task, ``data`` as a JSON string)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import yaml

from tasktrack.client.models import CONTRACT_FIELDS, Task

Format = Literal["json", "yaml", "csv"]


def write_task(task: Task, fmt: Format, out: TextIO) -> None:
    """One task: a JSON object, a YAML mapping, or a CSV header and row.

    Args:
        task: The task.
        fmt: ``json``, ``yaml`` or ``csv``.
        out: Where to write.
    """
    doc = task.to_json()
    if fmt == "json":
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "yaml":
        out.write(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    else:
        write_tasks([task], "csv", out)


def write_tasks(tasks: Iterable[Task], fmt: Format, out: TextIO) -> int:
    """Many tasks, each written as soon as ``tasks`` yields it; returns how many.

    JSON is an array with one task per line, YAML a sequence, CSV a header and one row each.

    Args:
        tasks: The tasks (e.g. the lazy iterator of ``TaskTrackClient.list``).
        fmt: ``json``, ``yaml`` or ``csv``.
        out: Where to write.
    """
    writer = csv.writer(out)
    if fmt == "csv":
        writer.writerow(CONTRACT_FIELDS)
    count = 0
    for count, task in enumerate(tasks, 1):
        doc = task.to_json()
        if fmt == "csv":
            writer.writerow([cell(doc[key]) for key in CONTRACT_FIELDS])
        elif fmt == "json":
            out.write(("[\n  " if count == 1 else ",\n  ") + json.dumps(doc, ensure_ascii=False))
        else:
            out.write(yaml.safe_dump([doc], sort_keys=False, allow_unicode=True))
        out.flush()
    if fmt == "json":
        out.write("\n]\n" if count else "[]\n")
    elif fmt == "yaml" and not count:
        out.write("[]\n")
    return count


def cell(value: Any) -> str:
    """A field as one text cell: objects and arrays as compact JSON, null as empty."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
