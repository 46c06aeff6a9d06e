"""URLs in normal form: every spelling of one URL gives one subject, the one fetched."""

from __future__ import annotations

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python.core.errors import ToolError
from opencode_python.permissions import normalize_url

# (as written, normal form)
NORMAL_FORMS = [
    ("http://example.com/a", "http://example.com/a"),
    ("HTTP://example.com/a", "http://example.com/a"),
    ("hTTpS://example.com/a", "https://example.com/a"),
    ("http://EXAMPLE.Com/a", "http://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:0080/a", "http://example.com/a"),
    ("http://example.com:/a", "http://example.com/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
    ("http://example.com", "http://example.com/"),
    ("http://example.com?q", "http://example.com/?q"),
    ("http://example.com/./a", "http://example.com/a"),
    ("http://example.com/b/../a", "http://example.com/a"),
    ("http://example.com/../../a", "http://example.com/a"),
    ("http://example.com/a/b/c/./../../g", "http://example.com/a/g"),
    ("http://example.com/a/..", "http://example.com/"),
    ("http://example.com/a/.", "http://example.com/a/"),
    ("http://example.com/a//../b", "http://example.com/a/b"),
    ("http://example.com/%2e%2E/a", "http://example.com/a"),
    ("http://example.com/b/%2E%2e/a", "http://example.com/a"),
    ("http://example.com/%61", "http://example.com/a"),
    ("http://example.com/%7e%2D%2e%5F%30", "http://example.com/~-._0"),
    ("http://example.com/a%2fb", "http://example.com/a%2Fb"),
    ("http://example.com/%c3%a9", "http://example.com/%C3%A9"),
    ("http://example.com/é", "http://example.com/%C3%A9"),
    ("http://example.com/a b", "http://example.com/a%20b"),
    ("http://example.com/100%", "http://example.com/100%25"),
    ("http://example.com/%zz", "http://example.com/%25zz"),
    ('http://example.com/a"<>\\^`{|}[]', "http://example.com/a%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D"),
    ("http://example.com/!$&'()*+,;=:@", "http://example.com/!$&'()*+,;=:@"),
    ("http://example.com/a?b=%2a&c=%7E&d=/?", "http://example.com/a?b=%2A&c=~&d=/?"),
    ("http://example.com/a?q=x y", "http://example.com/a?q=x%20y"),
    ("http://example.com/a?x=../b", "http://example.com/a?x=../b"),
    ("http://example.com/a?", "http://example.com/a"),
    ("http://example.com/a#frag", "http://example.com/a"),
    ("http://example.com/a?q=1#frag?x", "http://example.com/a?q=1"),
    ("http://example.com./a", "http://example.com/a"),
    ("http://Bücher.de/a", "http://xn--bcher-kva.de/a"),
    ("http://XN--BCHER-KVA.de/a", "http://xn--bcher-kva.de/a"),
    ("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/a"),
    ("http://127.1:8000/a", "http://127.0.0.1:8000/a"),
    ("http://0x7f.0.0.1/a", "http://127.0.0.1/a"),
    ("http://0177.0.0.01/a", "http://127.0.0.1/a"),
    ("http://2130706433/a", "http://127.0.0.1/a"),
    ("http://127.0.0.1./a", "http://127.0.0.1/a"),
    ("http://[::1]:8000/a", "http://[::1]:8000/a"),
    ("http://[0:0:0:0:0:0:0:1]/a", "http://[::1]/a"),
    ("http://[2001:DB8::0:1]/a", "http://[2001:db8::1]/a"),
    ("http://[::ffff:127.0.0.1]/a", "http://127.0.0.1/a"),
    ("http://[::FFFF:7F00:1]:80/a", "http://127.0.0.1/a"),
]

# Pairs that are different URLs, so different subjects.
DISTINCT = [
    ("http://localhost/a", "http://127.0.0.1/a"),
    ("http://0.0.0.0/a", "http://127.0.0.1/a"),
    ("http://example.com/a%2Fb", "http://example.com/a/b"),
    ("http://example.com/a%3Fb", "http://example.com/a?b"),
    ("http://example.com/A", "http://example.com/a"),
    ("http://example.com/a/", "http://example.com/a"),
    ("http://example.com//a", "http://example.com/a"),
    ("http://example.com/a?Q", "http://example.com/a?q"),
    ("http://example.com/a+b", "http://example.com/a%20b"),
    ("http://example.com:8080/a", "http://example.com/a"),
    ("https://example.com/a", "http://example.com/a"),
    ("http://www.example.com/a", "http://example.com/a"),
]

# (as written, part of the message the model reads)
REFUSED = [
    ("ftp://example.com/a", "must start with http:// or https://"),
    ("file:///etc/passwd", "must start with http:// or https://"),
    ("example.com/a", "must start with http:// or https://"),
    ("//example.com/a", "must start with http:// or https://"),
    ("http:example.com/a", "must start with http:// or https://"),
    (" http://example.com/", "must start with http:// or https://"),
    ("http://user@example.com/", "user name or password"),
    ("http://user:pw@example.com/", "user name or password"),
    ("http://example.com\\@127.0.0.1/", "user name or password"),
    ("http:///a", "has no host"),
    ("http://:80/a", "has no host"),
    ("http://exa mple.com/", "invalid host"),
    ("http://a..b/", "invalid host"),
    ("http://exa%6Dple.com/", "invalid host"),
    ("http://example.com\\.evil/", "invalid host"),
    ("http://999.0.0.1/", "invalid IPv4 address"),
    ("http://08.0.0.1/", "invalid IPv4 address"),
    ("http://example.com:0/", "invalid port"),
    ("http://example.com:65536/", "invalid port"),
    ("http://example.com:8o/", "invalid port"),
    ("http://example.com:+80/", "invalid port"),
    ("http://example.com:80:80/", "invalid port"),
    ("http://[::1/", "malformed IPv6"),
    ("http://[::1]x/", "malformed IPv6"),
    ("http://[::g]/", "invalid IPv6 address"),
    ("http://[fe80::1%25eth0]/", "IPv6 zone"),
    ("http://example.com/a\nb", "control character"),
    ("http://example.com/\t", "control character"),
    ("http://bü cher.de/", "invalid host name"),
]


@pytest.mark.parametrize(("url", "normal"), NORMAL_FORMS)
def test_each_spelling_has_one_normal_form(url: str, normal: str) -> None:
    assert normalize_url(url) == normal
    assert normalize_url(normal) == normal


@pytest.mark.parametrize(("one", "other"), DISTINCT)
def test_different_urls_stay_different(one: str, other: str) -> None:
    assert normalize_url(one) != normalize_url(other)


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_what_is_not_a_plain_http_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        normalize_url(url)


@pytest.mark.parametrize(("url", "normal"), NORMAL_FORMS)
def test_the_http_client_sends_the_normal_form_as_it_is(url: str, normal: str) -> None:
    parsed = httpx2.URL(normal)
    assert str(parsed) == normal
    target = parsed.raw_path.decode("ascii")
    assert normal.endswith(target)  # the request line carries the checked path and query


# Pieces of a path and query, to build the awkward ones from.
_PIECES = st.sampled_from(
    ["a", "B", "/", ".", "..", "./", "../", "%2e", "%2E", "%41", "%2f", "%7e", "%", "%zz"]
)
_MORE_PIECES = st.sampled_from(
    ["?", "#", "=", "&", "+", " ", "é", "~", ";", "@", ":", "[", "\\", '"', "%25"]
)
_AUTHORITIES = st.sampled_from(
    ["example.com", "EXAMPLE.com:80", "127.0.0.1:8080", "127.1", "[::1]", "xn--bcher-kva.de"]
)


@given(
    scheme=st.sampled_from(["http", "HTTPS", "Http"]),
    authority=_AUTHORITIES,
    rest=st.lists(_PIECES | _MORE_PIECES, max_size=12).map("".join),
)
def test_normal_forms_are_fixed_points_the_client_keeps(
    scheme: str, authority: str, rest: str
) -> None:
    normal = normalize_url(f"{scheme}://{authority}/{rest}")
    assert normalize_url(normal) == normal
    assert str(httpx2.URL(normal)) == normal
    segments = httpx2.URL(normal).raw_path.decode("ascii").partition("?")[0].split("/")
    assert "." not in segments
    assert ".." not in segments
    assert "#" not in normal
