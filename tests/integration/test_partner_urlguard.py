"""The SSRF guard on partner endpoint URLs."""
from __future__ import annotations

import pytest

from chalicelib.integration import urlguard


@pytest.fixture
def dns():
    answers: dict[str, list[str]] = {"partner.example.cn": ["93.184.216.34"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    urlguard.set_resolver(resolve)
    yield answers
    urlguard.set_resolver(None)


def test_a_public_https_endpoint_is_pinned_to_the_checked_address(dns):
    target = urlguard.resolve_target("https://partner.example.cn/hooks?x=1", local_stage=False)

    assert (target.scheme, target.host, target.port, target.path, target.address) == \
        ("https", "partner.example.cn", 443, "/hooks?x=1", "93.184.216.34")


@pytest.mark.parametrize("url", [
    "http://partner.example.cn/hook",            # not https
    "ftp://partner.example.cn/hook",
    "https://169.254.169.254/latest/meta-data/",  # instance metadata
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://10.0.0.5/hook", "https://192.168.1.10/hook", "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",                    # carrier-grade NAT
    "https://127.0.0.1/hook", "https://[::1]/hook", "https://localhost/hook",
    "https://[::ffff:10.0.0.1]/hook",             # IPv4-mapped private
    "https://0.0.0.0/hook", "https://224.0.0.1/hook",
    "https://user:pass@partner.example.cn/hook",
    "https:///nohost", "not a url", "", "https://partner.example.cn:99999/",
])
def test_unsafe_urls_are_refused(dns, url):
    with pytest.raises(urlguard.UnsafeUrl):
        urlguard.resolve_target(url, local_stage=False)


def test_loopback_http_only_in_the_local_stage(dns):
    assert urlguard.resolve_target("http://127.0.0.1:8123/h", local_stage=True).address == "127.0.0.1"
    with pytest.raises(urlguard.UnsafeUrl):
        urlguard.resolve_target("http://127.0.0.1:8123/h", local_stage=False)
    with pytest.raises(urlguard.UnsafeUrl):  # local stage still refuses private networks
        urlguard.resolve_target("https://10.1.2.3/h", local_stage=True)


@pytest.mark.parametrize("answer", [["10.0.0.7"], ["93.184.216.34", "169.254.169.254"], ["::1"]])
def test_a_name_that_resolves_to_a_private_address_is_refused(dns, answer):
    dns["rebind.example.cn"] = answer

    with pytest.raises(urlguard.UnsafeUrl) as info:
        urlguard.resolve_target("https://rebind.example.cn/hook", local_stage=False)
    assert "private" in info.value.message


def test_a_name_that_does_not_resolve(dns):
    with pytest.raises(urlguard.UnsafeUrl) as info:
        urlguard.resolve_target("https://nowhere.example.cn/hook", local_stage=False)
    assert info.value.details == {"url": "host not found"}
