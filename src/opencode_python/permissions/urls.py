"""URLs as permission subjects: one spelling for each URL, the one that is fetched.

A rule such as ``"http://host/secret*": "deny"`` is matched against a string, but the
HTTP client and the server read ``HTTP://HOST:80/public/../%73ecret`` as that very
URL. So the subject of a URL permission is the URL in normal form, and the tool
fetches exactly that string: the URL checked is the URL requested.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Final

from ..core.errors import ToolError

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters a path segment may hold as they are (RFC 3986 pchar, less %-escapes);
# a query may also hold "/" and "?". Everything else is percent-encoded.
_PATH_RAW: Final = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_RAW: Final = _PATH_RAW | frozenset("?")
_ESCAPE_OR_CHAR: Final = re.compile(r"%([0-9A-Fa-f]{2})|.", re.DOTALL)
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_HOST_NAME: Final = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# Hosts that the C resolver reads as an IPv4 address: 127.1, 0x7f.0.0.1, 2130706433.
_NUMERIC_HOST: Final = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}")


def normalize_url(url: str) -> str:
    """``url`` in normal form, the form URL rules match and ``webfetch`` fetches.

    Two spellings of one URL give the same string (RFC 3986 §6.2.2):

    - the scheme and host are lowercased; a Unicode host becomes its IDNA (``xn--``)
      form, the form that is sent, and an ``xn--`` host is kept as given;
    - IPv4 addresses are written as four decimal numbers (``127.1`` and
      ``0x7f.0.0.1`` are ``127.0.0.1``), IPv6 addresses compressed and lowercased
      (an IPv4-mapped one, ``[::ffff:127.0.0.1]``, is its IPv4 address); a trailing
      dot is dropped from a host name;
    - the default port (80 for http, 443 for https) is dropped;
    - percent-escapes of unreserved characters (``A-Z a-z 0-9 - . _ ~``) are decoded
      and the others uppercased (``%73`` is ``s``, ``%2f`` is ``%2F``, never ``/``);
      characters a URL may not hold as they are (a space, ``"``, non-ASCII) are
      percent-encoded as UTF-8;
    - ``.`` and ``..`` segments are removed (RFC 3986 §5.2.4); an empty path is ``/``;
    - the fragment is dropped (it is never sent), and so is an empty query.

    Names are not resolved: ``localhost`` and ``127.0.0.1`` stay two URLs.

    Raises ``ToolError`` with a message the model can act on for anything but an
    absolute http(s) URL, for a user name or password in the URL (``http://user@host``
    hides which host is meant), and for a URL the HTTP client would read otherwise.
    """
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise ToolError(
            f"The URL {url!r} contains a control character (a newline, a tab...); "
            "remove it or percent-encode it."
        )
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    rest = url[scheme_match.end() :] if scheme_match else ""
    if scheme not in _DEFAULT_PORTS or not rest.startswith("//"):
        raise ToolError(f"The URL must start with http:// or https://, got {url!r}.")
    rest = rest[2:].partition("#")[0]  # the fragment is never sent
    authority_end = next((i for i, char in enumerate(rest) if char in "/?"), len(rest))
    authority, rest = rest[:authority_end], rest[authority_end:]
    path, _, query = rest.partition("?")
    host, port = _authority(authority, scheme, url)
    normal = f"{scheme}://{host}{port}{_remove_dot_segments(_escapes(path, _PATH_RAW)) or '/'}"
    if query:  # an empty one is dropped
        normal += "?" + _escapes(query, _QUERY_RAW)
    _check_client_reads(normal, url)
    return normal


_URL_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$", re.DOTALL)


def normalize_url_pattern(pattern: str) -> str:
    """A rule pattern for URLs in the form ``normalize_url`` gives subjects: scheme and
    host lowercased and the default port dropped, so ``HTTPS://Example.com:443/*`` does
    what it says instead of matching nothing (a deny rule that silently does nothing).
    The rest is left as written: it may hold wildcards."""
    match = _URL_PATTERN.match(pattern)
    if match is None:
        return pattern
    scheme, authority, rest = match.group(1).lower(), match.group(2).lower(), match.group(3)
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and authority.endswith(f":{default}"):
        authority = authority[: -len(f":{default}")]
    return f"{scheme}://{authority}{rest}"


def _authority(authority: str, scheme: str, url: str) -> tuple[str, str]:
    """The normal host and ``:port`` (empty for the default port) of ``authority``."""
    if "@" in authority:
        raise ToolError(
            f"The URL {url!r} has a user name or password before '@', which hides the "
            "host it goes to; webfetch does not send credentials. Give the URL without it."
        )
    if authority.startswith("["):
        address, bracket, port = authority[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ToolError(f"The URL {url!r} has an unclosed or malformed IPv6 address.")
        host = _ipv6(address, url)
        port = port[1:]
    else:
        name, _, port = authority.partition(":")
        if not name:
            raise ToolError(f"The URL {url!r} has no host.")
        host = _host_name(name, url)
    if not port:
        return host, ""
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ToolError(f"The URL {url!r} has an invalid port {port!r}.")
    return host, "" if int(port) == _DEFAULT_PORTS[scheme] else f":{int(port)}"


def _host_name(name: str, url: str) -> str:
    """A host name or IPv4 address in normal form."""
    if not name.isascii():
        import idna  # what the HTTP client sends for a Unicode name

        try:
            name = idna.encode(name.lower()).decode("ascii")
        except idna.IDNAError as error:
            raise ToolError(f"The URL {url!r} has an invalid host name: {error}.") from None
    host = name.lower().removesuffix(".")
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise ToolError(f"The URL {url!r} has an invalid IPv4 address {name!r}.") from None
    if not _HOST_NAME.fullmatch(host):
        raise ToolError(
            f"The URL {url!r} has an invalid host {name!r}; a host is letters, digits, "
            "'-', '_' and dots (Unicode names are fine), an IPv4 address, or an IPv6 "
            "address in brackets."
        )
    return host


def _ipv6(address: str, url: str) -> str:
    """An IPv6 address in brackets, compressed; an IPv4-mapped one as its IPv4 address."""
    try:
        parsed = ipaddress.IPv6Address(address)
    except ipaddress.AddressValueError:
        raise ToolError(f"The URL {url!r} has an invalid IPv6 address [{address}].") from None
    if parsed.scope_id is not None:
        raise ToolError(f"The URL {url!r} names an IPv6 zone (%...), which is not supported.")
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return f"[{parsed.compressed}]"


def _escapes(text: str, raw: frozenset[str]) -> str:
    """``text`` with unreserved characters decoded, other escapes uppercased, and
    characters outside ``raw`` (a lone ``%`` too) percent-encoded as UTF-8."""

    def one(match: re.Match[str]) -> str:
        hex_digits = match.group(1)
        if hex_digits is not None:
            char = chr(int(hex_digits, 16))
            return char if char in _UNRESERVED else f"%{hex_digits.upper()}"
        char = match.group(0)
        return char if char in raw else "".join(f"%{b:02X}" for b in char.encode("utf-8"))

    return _ESCAPE_OR_CHAR.sub(one, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute (or empty) path: ``/a/./b/../c`` is ``/a/c``."""
    if not path:
        return path
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _check_client_reads(normal: str, url: str) -> None:
    """Refuse a URL the HTTP client would not send exactly as ``normal``: what is
    checked must be what is fetched."""
    import httpx2

    try:
        read = str(httpx2.URL(normal))
    except httpx2.InvalidURL as error:
        raise ToolError(f"The URL {url!r} is not valid: {error}.") from None
    if read != normal:
        raise ToolError(
            f"The URL {url!r} is ambiguous: it normalises to {normal!r}, which the HTTP "
            f"client reads as {read!r}. Write the URL without the unusual parts."
        )
