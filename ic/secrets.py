"""Database URLs as people may see them: the one place that takes a password out of a URL or a message.

A URL's password can sit in its userinfo (`postgresql://ic:pw@host/db`, with an unencoded `@` in it too:
`ic:Top@Secret99@db`) or in its query (`?password=...`, `?sslpassword=...`, any key that names a password, a
secret or a token, as libpq's keyword/value strings also allow). Every place that shows a URL (the sidebar's
notices, the command line, the log, error messages) shows `shown_url(url)`, and every message a driver writes
goes through `redact(text, url)`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

HIDDEN = "***"
SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential|api[_-]?key", re.IGNORECASE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)(.*)$", re.DOTALL)
_PAIR = re.compile(r"(?P<key>[A-Za-z_][\w.\-]*)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|[^\s&;]*)")


def _parts(url: str) -> tuple[str, str | None, str] | None:
    """(scheme://, userinfo or None, the rest after it) of a URL, or None for text that is not one. The
    userinfo ends at the last `@` before the query, so an unencoded `@` in a password stays in it (and at the
    last `@` at all when there is none before a `?`: a `?` in the password itself)."""
    match = _SCHEME.match(url.strip())
    if not match:
        return None
    rest = match[2]
    query = rest.find("?")
    at = rest.rfind("@", 0, query if query >= 0 else len(rest))
    at = at if at >= 0 else rest.rfind("@")
    return (match[1], rest[:at], rest[at:]) if at >= 0 else (match[1], None, rest)


def encoded(url: str) -> str:
    """`url` with its user and password percent-encoded, so that a driver finds the host after the last `@`
    (given `ic:Top@Secret99@db`, SQLAlchemy took `Secret99@db` for the host, and named it in its error)."""
    parts = _parts(url)
    if parts is None or parts[1] is None:
        return url.strip()
    scheme, userinfo, rest = parts
    user, colon, password = userinfo.partition(":")
    return scheme + quote(unquote(user), safe="") + (colon + quote(unquote(password), safe="") if colon else "") + rest


def _hide_pairs(text: str) -> str:
    """`key=value` pairs whose key names a secret, with the value hidden."""
    return _PAIR.sub(lambda m: f"{m['key']}={HIDDEN}" if SECRET_KEY.search(m["key"]) else m[0], text)


def secrets_of(url: str) -> list[str]:
    """Every password-like value in `url`, raw and URL-decoded, longest first."""
    parts = _parts(url)
    userinfo, rest = (parts[1], parts[2]) if parts else (None, url)
    found = [userinfo.split(":", 1)[1]] if userinfo and ":" in userinfo else []
    for pair in _PAIR.finditer(rest):
        if SECRET_KEY.search(pair["key"]) and pair["value"].strip("'"):
            found.append(pair["value"].strip("'"))
    found += [unquote(value) for value in found]
    found += [part for value in found for part in re.split(r"[@:/?]", value)]  # pieces a parser may split off
    return sorted({value for value in found if value}, key=len, reverse=True)


def shown_url(url: str) -> str:
    """The URL without any password: `user:***@host`, `password=***` in its query."""
    url = url.strip()
    parts = _parts(url)
    if parts is None:  # not a URL: perhaps libpq's `host=... password=...`
        return _scrub(_hide_pairs(url), secrets_of(url))
    scheme, userinfo, rest = parts
    if userinfo is not None:
        rest = (userinfo.split(":", 1)[0] + ":" + HIDDEN if ":" in userinfo else userinfo) + rest
    head, mark, query = rest.partition("?")
    return _scrub(scheme + head + mark + _hide_pairs(query), secrets_of(url))


def _scrub(text: str, secrets: list[str]) -> str:
    """Each secret's value hidden wherever else it appears (a driver may quote it). Values under 4 characters
    are left to the structural hiding above: replacing every "ab" of a message would garble it."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, HIDDEN)
    return text


def redact(text: str, url: str | None = None) -> str:
    """`text` (a driver's message, a traceback line) with `url` shown as `shown_url` and every password in it,
    or in any `key=value` or `user:password@` it holds, hidden."""
    if url:
        text = text.replace(url, shown_url(url))
        text = _scrub(text, secrets_of(url))
    text = re.sub(r"(://[^:/@\s]+):[^\s]*@", rf"\1:{HIDDEN}@", text)
    return _hide_pairs(text)
