"""What an operator sees of a running process (issue 16).

:mod:`~tasktrack.observability.context` holds the ids a log line carries (request/trace id,
task id, attempt, worker id) in context variables; :mod:`~tasktrack.observability.logs` turns
them into one log format (text or JSON) for every line of a process, uvicorn's included;
:mod:`~tasktrack.observability.tracing` emits OpenTelemetry spans (optional extra).
"""
