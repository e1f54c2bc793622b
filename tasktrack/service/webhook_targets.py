"""Where a webhook may be sent: the SSRF check, at subscription and again at each delivery.

A subscription's URL is chosen by any user with write access, and the server then makes
requests to it from inside the network. So a target is refused when *any* address its host
resolves to is not a public (global) unicast address: loopback, private (RFC 1918, ULA),
link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, reserved and
unspecified ones. ``TASKTRACK_WEBHOOK_ALLOW_PRIVATE=1`` lifts this for trusted setups (and
tests with a local receiver). The host is resolved again before every delivery, since DNS
answers change; see docs/webhooks-and-traces.md for the rebinding window that remains.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from tasktrack.domain.webhooks import MAX_URL_LENGTH
from tasktrack.errors import InvalidArgument

#: A host name or IPv4 address (RFC 3986 unreserved characters). No IPv6 literal: a name
#: with AAAA records reaches IPv6. The OpenAPI document's URL pattern says the same.
_HOST = re.compile(r"[A-Za-z0-9._~-]+")
#: What no URL may hold anywhere (the pattern's complement, the same regex syntax).
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def parse_target(url: str) -> tuple[str, int]:
    """The host and port of an acceptable ``http(s)`` URL, or InvalidArgument."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument(f"url is longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE.search(url):
        raise InvalidArgument("url must not contain white space or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(f"url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("url must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument("url must not carry credentials")
    if not _HOST.fullmatch(parts.hostname):
        raise InvalidArgument(
            f"url's host {parts.hostname[:60]!r} is not a host name or IPv4 address"
        )
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    """True for a global unicast address (an IPv4-mapped IPv6 address counts as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, allow_private: bool) -> None:
    """Raise InvalidArgument unless ``url`` may receive webhooks (see the module doc)."""
    host, port = parse_target(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidArgument(f"url's host {host!r} cannot be resolved: {exc}") from None
    refused = sorted({str(info[4][0]) for info in infos if not is_public(str(info[4][0]))})
    if refused:
        raise InvalidArgument(
            f"url's host {host!r} resolves to a non-public address ({refused[0]}); "
            "set TASKTRACK_WEBHOOK_ALLOW_PRIVATE=1 to allow private targets"
        )
