"""Webhook building blocks: the SSRF rules, event names, back-off, secrets at rest, and the
Standard Webhooks signature (checked with the ``standardwebhooks`` package's verifier)."""

from __future__ import annotations

import re
import time

import orjson
import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tasktrack.api.openapi.webhooks import _URL_PATTERN
from tasktrack.domain.webhooks import EVENTS, Message, parse_events, retry_delay
from tasktrack.errors import InvalidArgument, StorageError
from tasktrack.service.webhook_secrets import SecretBox, new_secret
from tasktrack.service.webhook_targets import check_target, is_public, parse_target
from tasktrack.worker.webhooks import body_of, signed_headers


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1%eth0", "fd00::1", "::ffff:127.0.0.1", "::"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "example.com/hook", "http:///x", "http://u:p@example.com/",
            "http://example.com:99999/", "https://" + "a" * 2000 + ".com/", "http://0*",
            "http://exa mple.com/", "http://[::1*]/", "http://a.com/b c"],
)  # fmt: skip
def test_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_target(url)


def test_parse_target_defaults_the_port() -> None:
    assert parse_target("https://example.com/x") == ("example.com", 443)
    assert parse_target("http://example.com:8080/x") == ("example.com", 8080)
    assert parse_target("http://example.com:65535/") == ("example.com", 65535)


def test_the_documented_pattern_takes_what_the_server_takes() -> None:
    pattern = re.compile(_URL_PATTERN)
    takes = ["https://example.com/x?y#z", "http://10.0.0.1:8443/", "http://a:65535", "http://a/é"]
    refuses = ["http://0*", "http://a:65536/", "http://a.com/b c", "http://u:p@a.com/",
               "http://[::1]/", "https://[421]:12736", "http://D3J29FSxu/5\x07", "http://wSi#\x14",
               "http://a/\x85", "http://a/\u3000"]  # fmt: skip
    for url in takes:
        parse_target(url)
        assert pattern.search(url), url
    for url in refuses:
        with pytest.raises(InvalidArgument):
            parse_target(url)
        assert not pattern.search(url), url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "http://0x7f.1/"])
async def test_loopback_targets_need_the_allowance(url: str) -> None:
    with pytest.raises(InvalidArgument, match="TASKTRACK_WEBHOOK_ALLOW_PRIVATE"):
        await check_target(url, allow_private=False)
    await check_target(url, allow_private=True)


def test_events_are_checked_and_ordered() -> None:
    assert parse_events(None) == EVENTS
    assert parse_events(["task.done", "task.created"]) == ("task.created", "task.done")
    with pytest.raises(InvalidArgument, match=r"unknown event 'task\.progress'"):
        parse_events(["task.progress"])
    with pytest.raises(InvalidArgument, match="at least one"):
        parse_events([])


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    assert [retry_delay(n, 5.0) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(30, 5.0) == 3600.0


def test_a_sealed_secret_opens_only_with_its_key() -> None:
    secret = new_secret()
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal(secret)
    assert secret not in sealed
    assert box.open_secret(sealed) == secret
    with pytest.raises(StorageError, match="TASKTRACK_WEBHOOK_KEY"):
        SecretBox(Fernet.generate_key()).open_secret(sealed)


def _message() -> Message:
    payload = '{"_id": "ab", "status": "done"}'
    return Message(1, "msg_1", "sub", "task.done", "ab", payload, 1_700_000_000.5, 1)


def test_deliveries_verify_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    body = body_of(_message())
    assert orjson.loads(body) == {
        "type": "task.done", "timestamp": "2023-11-14T22:13:20.500000Z",
        "data": {"_id": "ab", "status": "done"},
    }  # fmt: skip
    headers = signed_headers("msg_1", secret, body, time.time())
    assert Webhook(secret).verify(body, headers)["type"] == "task.done"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"done", b"oops"), headers)
