"""No secret ever reaches the server's log, at debug level, whatever the request carried.

(uvicorn's ``trace`` level is another matter: it prints raw ASGI scopes, headers included.)
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tests.integration.auth_server import password_login, prepare, start, stop

TASKS = "/v2.0/tasks"
TOKEN = "/auth/oauth2/token"


def test_the_whole_log_holds_none_of_the_secrets_used(tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["acme"])["acme"]
    env = {
        "TASKTRACK_LOG_LEVEL": "debug",
        "TASKTRACK_ACCESS_LOG": "1",  # request lines too must hold no secret
        "TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0",
    }
    server = start(tmp_path, env, db_url=db_url)
    wrong_key = "tt_" + "0" * 24 + "_" + "S3cretGuess" * 3 + "0123456789"
    wrong_password = "not-the-password-but-still-secret"
    basic = base64.b64encode(f"{tenant.client_id}:{tenant.client_secret}".encode()).decode()
    secrets = {
        tenant.api_key,
        tenant.api_key.split("_", 2)[2],  # tt_<id>_<secret>: the secret may hold "_"
        tenant.read_only_key,
        wrong_key,
        tenant.password,
        wrong_password,
        tenant.client_secret,
        basic,
    }
    try:
        with server.client() as http:
            # API keys in the query string (good, read-only, wrong) and in the header.
            assert http.get(TASKS, params={"api_key": tenant.api_key}).status_code == 200
            ro_create = http.post(
                TASKS, params={"api_key": tenant.read_only_key}, json={"name": "demo.sleep"}
            )
            assert ro_create.status_code == 403
            assert http.get(TASKS, params={"api_key": wrong_key, "limit": "0"}).status_code == 401
            assert http.get(TASKS, headers={"X-API-Key": tenant.api_key}).status_code == 200
            bad_query = http.get(f"{TASKS}/nope", params={"api_key": tenant.api_key, "sort": "x"})
            assert bad_query.status_code == 400
            # Passwords and client secrets, right and wrong, in the body and in HTTP Basic.
            tokens = password_login(http, tenant)
            wrong = {"grant_type": "password", "username": tenant.email, "password": wrong_password}
            assert http.post(TOKEN, data=wrong).status_code == 400
            basic_login = http.post(
                TOKEN,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"},
            )
            assert basic_login.status_code == 200
            # Bearer tokens: good, forged, refreshed, reused, revoked.
            access, refresh = tokens["access_token"], tokens["refresh_token"]
            auth = {"Authorization": f"Bearer {access}"}
            assert http.get(TASKS, headers=auth).status_code == 200
            forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
            assert http.get(TASKS, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
            form = {"grant_type": "refresh_token", "refresh_token": refresh}
            client = (tenant.client_id, tenant.client_secret)
            renewed = http.post(TOKEN, data=form, auth=client)
            assert renewed.status_code == 200
            assert http.post(TOKEN, data=form, auth=client).status_code == 400  # reuse
            assert http.post("/auth/oauth2/revoke", data={"token": access}).status_code == 200
            secrets |= {
                access,
                access.split(".")[2],
                forged,
                refresh,
                renewed.json()["access_token"],
                renewed.json()["refresh_token"],
                basic_login.json()["access_token"],
            }
    finally:
        stop(server)  # flushes and closes the log

    log = server.log()
    # The access log did run (its request line is quoted, and escaped again in JSON logs).
    assert len(re.findall(r'\\?"POST /auth/oauth2/token\\?"', log)) == 5
    leaked = sorted(secret[:12] + "..." for secret in secrets if secret in log)
    assert not leaked, f"secrets in the server log: {leaked}"
