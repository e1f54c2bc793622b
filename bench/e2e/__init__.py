"""End-to-end throughput benchmark of tasktrack's runtime against Celery, RQ and Dramatiq."""
