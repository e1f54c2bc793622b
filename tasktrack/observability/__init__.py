"""Operability helpers that adapters hook into (issue 16): :mod:`.tracing` (OpenTelemetry)."""
