"""The SSRF guard for partner webhook URLs, with name resolution faked so no test needs the network."""

import re
import socket
from collections.abc import Iterable
from ipaddress import ip_address

import pytest

from gateway_svc.webhooks.targets import IPAddress, WebhookTarget, WebhookTargetRefused, check_addresses, check_target
from qunyun_shared.problems import InvalidInput

pytestmark = pytest.mark.unit


class FakeResolver:
    """Answers every lookup with the same addresses, remembering what was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = [ip_address(address) for address in addresses]
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Iterable[IPAddress]:
        self.asked.append((host, port))
        return self.addresses


async def unresolvable(host: str, port: int) -> Iterable[IPAddress]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


REFUSED_ADDRESSES = [
    ("10.1.2.3", "private-network"),
    ("172.16.0.1", "private-network"),
    ("172.31.255.254", "private-network"),
    ("192.168.1.10", "private-network"),
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::7f00:1", "reserved"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private-network"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:100.64.0.1", "shared"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("2002:a00:1::", "private-network"),
    ("192.0.2.1", "not globally routable"),
    ("198.18.0.1", "not globally routable"),
    ("2001:db8::1", "not globally routable"),
]

PUBLIC_ADDRESSES = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "100.63.255.255",
    "172.32.0.1",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_ADDRESSES)
def test_internal_and_special_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(WebhookTargetRefused, match=reason) as refused:
        check_addresses("hooks.partner.example", [ip_address(address)], allow_private=False)
    assert str(ip_address(address)) in refused.value.detail


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_accepted(address: str) -> None:
    assert check_addresses("hooks.partner.example", [ip_address(address)], allow_private=False) == (
        ip_address(address),
    )


def test_one_internal_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(WebhookTargetRefused, match=re.escape("169.254.169.254")):
        check_addresses("rebind.example", [ip_address("8.8.8.8"), ip_address("169.254.169.254")], allow_private=False)


def test_a_host_without_addresses_is_refused() -> None:
    with pytest.raises(WebhookTargetRefused, match="no address"):
        check_addresses("hooks.partner.example", [], allow_private=False)


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "::1", "100.64.0.1", "fd00::1", "::ffff:192.168.0.2"])
def test_development_may_deliver_to_internal_networks(address: str) -> None:
    assert check_addresses("receiver", [ip_address(address)], allow_private=True) == (ip_address(address),)


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "240.0.0.1"])
def test_development_still_refuses_metadata_multicast_and_unspecified_addresses(address: str) -> None:
    with pytest.raises(WebhookTargetRefused):
        check_addresses("receiver", [ip_address(address)], allow_private=True)


async def test_a_public_https_target_comes_back_with_its_checked_addresses() -> None:
    resolver = FakeResolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14")
    target = await check_target(url="https://hooks.partner.example/qunyun?v=1", allow_private=False, resolve=resolver)
    assert target == WebhookTarget(
        url="https://hooks.partner.example/qunyun?v=1",
        host="hooks.partner.example",
        port=443,
        addresses=(ip_address("93.184.215.14"), ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")),
    )
    assert resolver.asked == [("hooks.partner.example", 443)]


async def test_the_resolver_is_asked_for_the_urls_port_and_lowercased_host() -> None:
    resolver = FakeResolver("8.8.8.8")
    target = await check_target(url="https://Hooks.Partner.Example:8443/in", allow_private=False, resolve=resolver)
    assert (target.host, target.port) == ("hooks.partner.example", 8443)
    assert resolver.asked == [("hooks.partner.example", 8443)]


async def test_a_host_resolving_to_an_internal_address_is_refused() -> None:
    with pytest.raises(WebhookTargetRefused, match=re.escape("'metadata.partner.example' resolves to 169.254.169.254")):
        await check_target(
            url="https://metadata.partner.example/", allow_private=False, resolve=FakeResolver("169.254.169.254")
        )


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookTargetRefused, match="does not resolve"):
        await check_target(url="https://nowhere.invalid/", allow_private=False, resolve=unresolvable)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.partner.example/", "uses https, not 'http'"),
        ("ftp://hooks.partner.example/", "uses https"),
        ("file:///etc/passwd", "uses https"),
        ("gopher://hooks.partner.example:70/", "uses https"),
        ("hooks.partner.example/in", "no scheme"),
        ("https://user:s3cret@hooks.partner.example/", "credentials"),
        ("https://user@hooks.partner.example/", "credentials"),
        ("https:///in", "names a host"),
        ("https://:443/in", "names a host"),
        ("https://hooks.partner.example:0/", "port"),
        ("https://hooks.partner.example:65536/", "port"),
        ("https://hooks.partner.example:https/", "port"),
        ("https://hooks.partner.example\\@127.0.0.1/", "backslashes"),
        ("https://hooks.partner.example\t/", "whitespace"),
        ("https://hooks.partner.example/\x00", "control characters"),
    ],
)
async def test_malformed_or_unsafe_urls_are_refused_before_resolving(url: str, reason: str) -> None:
    resolver = FakeResolver("8.8.8.8")
    with pytest.raises(WebhookTargetRefused, match=reason) as refused:
        await check_target(url=url, allow_private=False, resolve=resolver)
    assert resolver.asked == []
    assert "s3cret" not in refused.value.detail


async def test_development_may_use_http_to_an_internal_receiver() -> None:
    target = await check_target(
        url="http://receiver:8080/hooks", allow_private=True, resolve=FakeResolver("172.18.0.5")
    )
    assert (target.port, target.addresses) == (8080, (ip_address("172.18.0.5"),))


async def test_the_default_resolver_checks_literal_addresses() -> None:
    # Numeric hosts are converted by getaddrinfo itself, without asking DNS.
    with pytest.raises(WebhookTargetRefused, match="loopback"):
        await check_target(url="https://[::1]:8443/", allow_private=False)
    with pytest.raises(WebhookTargetRefused, match="link-local"):
        await check_target(url="https://169.254.169.254/latest/meta-data/", allow_private=False)


def test_a_refused_target_is_a_422_problem() -> None:
    refused = WebhookTargetRefused("x")
    assert isinstance(refused, InvalidInput)
    assert (refused.status, refused.slug) == (422, "webhook-target-refused")
