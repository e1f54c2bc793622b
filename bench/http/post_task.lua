-- wrk script: every request creates one task (POST /v2.0/tasks). Headers (X-API-Key,
-- Content-Type) come from wrk's -H options.
wrk.method = "POST"
wrk.path = "/v2.0/tasks"
wrk.body = '{"name": "demo.sleep", "data": {"seconds": 0}}'
