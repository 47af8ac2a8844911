"""The SSRF guard for partner webhook URLs: deliveries go to public addresses only.

A check alone does not stop DNS rebinding, where the host resolves to a public address for the check and to an
internal one a moment later. So the delivery client must connect to one of the `WebhookTarget.addresses` checked
here, keeping the URL's host for the `Host` header and the TLS server name, instead of resolving the host again.
It must also check again before each attempt (records change between retries), not follow redirects, and not use
proxies from the environment.
"""

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TypeAlias
from urllib.parse import SplitResult, urlsplit

from qunyun_shared.problems import InvalidInput

IPAddress: TypeAlias = IPv4Address | IPv6Address
Resolver: TypeAlias = Callable[[str, int], Awaitable[Iterable[IPAddress]]]

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Networks inside a deployment, which a development setup (allow_private) may deliver to.
_INTERNAL_NETWORKS: tuple[tuple[IPv4Network | IPv6Network, str], ...] = (
    (ip_network("127.0.0.0/8"), "a loopback address"),
    (ip_network("::1/128"), "a loopback address"),
    (ip_network("10.0.0.0/8"), "a private-network address"),
    (ip_network("172.16.0.0/12"), "a private-network address"),
    (ip_network("192.168.0.0/16"), "a private-network address"),
    (ip_network("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (ip_network("fc00::/7"), "a unique-local address"),
    (ip_network("fec0::/10"), "a site-local address"),
)
# IPv6-only clusters reach IPv4 hosts through NAT64, which embeds the IPv4 address in the last 32 bits.
_NAT64 = ip_network("64:ff9b::/96")


class WebhookTargetRefused(InvalidInput):
    slug = "webhook-target-refused"


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook URL that passed the guard, with the checked addresses a delivery must connect to."""

    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


async def _resolve_with_event_loop(host: str, port: int) -> list[IPAddress]:
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(sockaddr[0]) for family, *_, sockaddr in found if family in (socket.AF_INET, socket.AF_INET6)]


async def check_target(*, url: str, allow_private: bool, resolve: Resolver = _resolve_with_event_loop) -> WebhookTarget:
    """Checks a partner's webhook URL and every address its host resolves to; raises WebhookTargetRefused."""
    host, port = _check_url(url, allow_private=allow_private)
    try:
        resolved = await resolve(host, port)
    except (OSError, UnicodeError):  # socket.gaierror, or a host name IDNA cannot encode
        raise WebhookTargetRefused(f"The webhook host {host!r} does not resolve.") from None
    addresses = check_addresses(host, resolved, allow_private=allow_private)
    return WebhookTarget(url=url, host=host, port=port, addresses=addresses)


def check_addresses(host: str, addresses: Iterable[IPAddress], *, allow_private: bool) -> tuple[IPAddress, ...]:
    """The addresses of a webhook host, once every one is safe to deliver to; raises WebhookTargetRefused."""
    # All must pass: a client may connect to any of them, and a rebinding answer mixes public and internal ones.
    checked = tuple(dict.fromkeys(addresses))
    if not checked:
        raise WebhookTargetRefused(f"The webhook host {host!r} has no address.")
    for address in checked:
        destination = _embedded_ipv4(address)
        reason = _refusal(destination, allow_private=allow_private)
        if reason:
            shown = address if destination == address else f"{address} (that is, {destination})"
            raise WebhookTargetRefused(
                f"The webhook host {host!r} resolves to {shown}, {reason}; webhooks are not delivered there."
            )
    return checked


def _check_url(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The host and port of a webhook URL whose form is acceptable."""
    # URL parsers disagree about these; such a URL could name one host here and another in the delivery client.
    if "\\" in url or any(char.isspace() or not char.isprintable() for char in url):
        raise WebhookTargetRefused("A webhook URL has no whitespace, control characters or backslashes.")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_private):
        raise WebhookTargetRefused(f"A webhook URL uses https, not {parts.scheme or 'no scheme'!r}.")
    if parts.username is not None or parts.password is not None:
        # The message leaves the URL out so as not to echo the password.
        raise WebhookTargetRefused("A webhook URL carries no credentials (user:password@); deliveries are signed.")
    if not parts.hostname:
        raise WebhookTargetRefused("A webhook URL names a host.")
    return parts.hostname, _port(parts)


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:
        raise WebhookTargetRefused("A webhook URL's port is a number from 1 to 65535.")
    return port or _DEFAULT_PORTS[parts.scheme]


def _refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why deliveries must not go to an address (IPv4 ones unwrapped already), or None when they may."""
    if address.is_unspecified:
        return "an unspecified address, which reaches this host"
    if address.is_multicast:  # Python counts multicast as global, so this comes first
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address, where cloud metadata services answer"
    for network, kind in _INTERNAL_NETWORKS:
        if address in network:
            return None if allow_private else kind
    if address.is_reserved:  # Python counts some reserved IPv6 ranges as global
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose address that is not globally routable"
    return None


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4 or NAT64), which is where packets end up."""
    if isinstance(address, IPv4Address):
        return address
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour or address
