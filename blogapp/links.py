"""Absolute links (emails, feeds, sitemap, canonical, previews, commands): built from SITE_URL.

Never from the request: a forged ``Host`` header would otherwise put an attacker's address
in a password-reset email whose token works on the real site. The same function works with
or without a request (a CLI command, a background worker), so there is one way to do it.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app


def absolute_url_for(endpoint: str, _anchor: str | None = None, **values) -> str:
    """The full URL of an endpoint on the configured site, e.g. https://blog.example/posts/x.

    Takes the same values as ``url_for`` (blueprint-qualified endpoint names only).
    """
    app = current_app
    site = urlsplit(app.config["SITE_URL"])
    adapter = app.url_map.bind(site.netloc, script_name=site.path or "/", url_scheme=site.scheme)
    app.inject_url_defaults(endpoint, values)
    url = adapter.build(endpoint, values, force_external=True)
    if _anchor is not None:
        url += "#" + quote(_anchor, safe="%!#$&'()*+,/:;=?@")
    return url


def site_url(path: str = "/") -> str:
    """SITE_URL joined with an absolute path of this site (``/feed.xml`` -> full URL)."""
    return current_app.config["SITE_URL"].rstrip("/") + "/" + path.lstrip("/")


def site_host() -> str:
    """SITE_URL's host name without port: the site's identity (feed tag URIs)."""
    return urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"


def site_origin() -> str:
    """SITE_URL's origin as a browser sends it in ``Origin``: scheme://host[:port], lowercase."""
    site = urlsplit(current_app.config["SITE_URL"])
    scheme, host = site.scheme.lower(), (site.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    port = f":{site.port}" if site.port and site.port != default_port else ""
    return f"{scheme}://{host}{port}"
