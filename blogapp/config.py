"""Defaults, then instance/config.py, then the environment: the order settings are read in."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask


class ConfigError(SystemExit):
    """A wrong or missing setting: exits with one line naming it, no traceback."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"Configuration error: {name} {problem}")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(value)


def _int(value: str) -> int:
    return int(value.strip())


def _names(value: str) -> list[str]:
    """A comma-separated list: "a.example, b.example" -> ["a.example", "b.example"]."""
    return [name.strip() for name in value.split(",") if name.strip()]


# Environment variables the blog reads, with how each is parsed.
ENVIRONMENT = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": _int,
    "MAIL_USE_TLS": _bool,
    "MAIL_USE_SSL": _bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_DELIVERY": str,
    "MAIL_MAX_ATTEMPTS": _int,
    "MAIL_RETRY_SECONDS": float,
    "MAIL_CLAIM_SECONDS": float,
    "MAIL_BATCH_SIZE": _int,
    "MAIL_TIMEOUT": float,
    "WORKER_POLL_SECONDS": float,
    "RATELIMIT_ENABLED": _bool,
    "PAGE_CACHE_ENABLED": _bool,
    "BLOG_TITLE": str,
    "BLOG_TAGLINE": str,
    "BLOG_TIMEZONE": str,
    "BLOG_ENV": str,
    "UPLOAD_DIR": str,
    "SESSION_COOKIE_SECURE": _bool,
    "MAX_CONTENT_LENGTH": _int,
    "COMMENTS_CLOSE_AFTER_DAYS": _int,
    "TWO_FACTOR_REQUIRED_ROLES": _names,
    "SITE_URL": str,
    "SITE_ALIASES": _names,
    "TRUSTED_PROXIES": _int,
    "COMMENT_EDIT_MINUTES": _int,
    "COMMENT_MAX_LINKS": _int,
    "BLOG_DISCLAIMER": str,
    "BLOG_LOGO": str,
}


DEFAULTS = {
    "BLOG_TITLE": "The AlliedUP Co-op Blog",
    "BLOG_TAGLINE": "Healthcare news, advice, updates, and more.",
    "BLOG_TIMEZONE": "America/New_York",
    # "production" refuses to start without a SECRET_KEY; anything else generates one.
    "BLOG_ENV": "development",
    # The site's own address: every absolute link is built from it (blogapp/links.py).
    # Required in production; development uses DEVELOPMENT_SITE_URL.
    "SITE_URL": None,
    "SITE_ALIASES": [],  # other host names the site answers to (each gets TRUSTED_HOSTS)
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For/-Proto count
    "POSTS_PER_PAGE": 10,
    "COMMENT_THREADS_PER_PAGE": 50,
    "COMMENTS_CLOSE_AFTER_DAYS": 0,  # 0: comments never close by age
    "COMMENT_EDIT_MINUTES": 15,
    "COMMENT_MAX_LINKS": 2,  # more links than this: held for moderation
    # The footer's disclaimer (comment-style Markdown); None: the built-in text.
    "BLOG_DISCLAIMER": None,
    # The header's emblem: None for the built-in SVG mark, or the stored name of an image
    # uploaded at /media (e.g. "3f…_800.png"; its alt text is not used: the name is beside it).
    "BLOG_LOGO": None,
    "COMMENT_MIN_SECONDS": 3,  # a comment form sent back sooner is a bot's: spam
    "COMMENT_FLOOD_LIMIT": 5,  # comments per address (IPv4 /24, IPv6 /48) ...
    "COMMENT_FLOOD_SECONDS": 60,  # ... in this many seconds; more get 429
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,  # uploads are 5 MB at most; the form adds a little
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    "UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
    "REDIS_URL": None,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_DEFAULT_SENDER": "AlliedUP Co-op Blog <blog@localhost>",
    # Mail: "worker" (flask --app blogapp worker delivers) or "thread" (each server process
    # delivers in a background thread). Unset: thread in development or with no MAIL_SERVER.
    "MAIL_DELIVERY": None,
    "MAIL_MAX_ATTEMPTS": 8,  # then the message is "failed" and shown to admins
    "MAIL_RETRY_SECONDS": 60,  # first retry after about this long, doubling each time
    "MAIL_CLAIM_SECONDS": 300,  # a claimed message is taken again if not done by then
    "MAIL_BATCH_SIZE": 50,
    "MAIL_TIMEOUT": 30,  # seconds an SMTP server may take to answer
    "WORKER_POLL_SECONDS": 5,
    "NEWSLETTER_DIGEST_HOUR": 8,  # weekly digests go out on Mondays at this hour (BLOG_TIMEZONE)
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    "PAGE_CACHE_ENABLED": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
    "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session: long drafts stay postable
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # How long a SQLite writer waits for another's lock before the request gets a 503.
    "SQLITE_BUSY_TIMEOUT_MS": 10000,
}


def load_config(app: Flask, test_config: dict | None = None) -> None:
    """Fill app.config from defaults, instance/config.py, the environment, then test_config."""
    app.config.from_mapping(DEFAULTS)
    app.config["UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    app.config.from_pyfile(os.path.join(app.instance_path, "config.py"), silent=True)
    for name, parse in ENVIRONMENT.items():
        raw = os.environ.get(name)
        if raw is None:
            continue
        try:
            app.config[name] = parse(raw)
        except ValueError:
            raise ConfigError(name, f"has an invalid value {raw!r}") from None
    if test_config:
        app.config.update(test_config)
    _finish(app)


def _finish(app: Flask) -> None:
    """Derive and check the settings that depend on others."""
    config = app.config
    os.makedirs(app.instance_path, exist_ok=True)
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = database_uri(
            config.get("DATABASE_URL")
            or "sqlite:///" + os.path.join(app.instance_path, "blog.sqlite3")
        )
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        _bound_postgresql_waits(config)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret_key(app)
    if config.get("REDIS_URL"):
        config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"])
    else:
        config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # The remember-me cookie signs a person in just like the session: same Secure flag.
    config.setdefault("REMEMBER_COOKIE_SECURE", config["SESSION_COOKIE_SECURE"])
    if config["MAIL_DELIVERY"] is None:
        production_smtp = config["BLOG_ENV"] == "production" and config.get("MAIL_SERVER")
        config["MAIL_DELIVERY"] = "worker" if production_smtp else "thread"
    if config["MAIL_DELIVERY"] not in ("worker", "thread"):
        raise ConfigError("MAIL_DELIVERY", "must be worker or thread")
    if config["MAIL_DEFAULT_SENDER"] is None:
        raise ConfigError("MAIL_DEFAULT_SENDER", "is missing")
    try:
        ZoneInfo(config["BLOG_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "BLOG_TIMEZONE", f"is not a time zone: {config['BLOG_TIMEZONE']!r}"
        ) from None
    _check_two_factor_roles(config)
    if config["MAX_CONTENT_LENGTH"] <= 0:
        raise ConfigError("MAX_CONTENT_LENGTH", "must be a positive number of bytes")
    _site_address(config)


DEVELOPMENT_SITE_URL = "http://127.0.0.1:5000"


def _site_address(config) -> None:
    """SITE_URL is where links point, and its host (plus SITE_ALIASES) the only Host accepted.

    A request naming another host gets 400 (Flask's TRUSTED_HOSTS), so a forged Host header
    can't reach a page, let alone a link. Production must say its address: guessing it from
    requests is exactly the hole this closes.
    """
    if not config.get("SITE_URL"):
        if config["BLOG_ENV"] == "production":
            raise ConfigError("SITE_URL", "is missing (e.g. https://blog.alliedup.coop)")
        config["SITE_URL"] = DEVELOPMENT_SITE_URL
        # Both spellings of this machine work while developing.
        config["SITE_ALIASES"] = [*config["SITE_ALIASES"], "localhost", "127.0.0.1"]
    site = urlsplit(config["SITE_URL"])
    if site.scheme not in ("http", "https") or not site.hostname or site.query or site.fragment:
        raise ConfigError(
            "SITE_URL",
            f"must be an http(s) address like https://blog.example, not {config['SITE_URL']!r}",
        )
    config["SITE_URL"] = config["SITE_URL"].rstrip("/")
    if config.get("TRUSTED_HOSTS") is None:
        config["TRUSTED_HOSTS"] = [site.hostname, *config["SITE_ALIASES"]]
    if config["TRUSTED_PROXIES"] < 0:
        raise ConfigError("TRUSTED_PROXIES", "must be 0 or more")


REVIEWER = "reviewer"


def _check_two_factor_roles(config) -> None:
    """Every staff role must enrol by default; the setting names roles that exist."""
    from .models import Role

    # "reviewer" is the clinical-reviewer designation: any member an admin made a reviewer.
    names = {str(role) for role in Role} | {REVIEWER}
    roles = config.get("TWO_FACTOR_REQUIRED_ROLES")
    if roles is None:
        roles = tuple(role for role in Role if role != Role.MEMBER) + (REVIEWER,)
    roles = [str(role).lower() for role in roles]
    unknown = [role for role in roles if role not in names]
    if unknown:
        raise ConfigError("TWO_FACTOR_REQUIRED_ROLES", f"names unknown roles: {', '.join(unknown)}")
    config["TWO_FACTOR_REQUIRED_ROLES"] = tuple(
        role if role == REVIEWER else Role(role) for role in roles
    )


def _bound_postgresql_waits(config) -> None:
    """An unreachable or stuck database answers a 503 within seconds, never a hung worker.

    connect_timeout: a database host that drops packets fails the connect after 5 s (libpq
    waits forever by default). statement_timeout: a query stuck behind a lock is cancelled
    after 30 s. pool_timeout: a request waiting for a free pooled connection gives up after
    10 s (SQLAlchemy's default is 30). Each can be overridden in SQLALCHEMY_ENGINE_OPTIONS.
    """
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # DEFAULTS stays untouched
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", 5)
    connect_args.setdefault("options", "-c statement_timeout=30000")
    options["connect_args"] = connect_args
    options.setdefault("pool_timeout", 10)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def database_uri(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not (url.startswith("sqlite:") or url.startswith("postgresql+psycopg://")):
        raise ConfigError("DATABASE_URL", f"must be a sqlite:// or postgresql:// URL, not {url!r}")
    return url


def _instance_secret_key(app: Flask) -> str:
    """Read instance/secret_key, generating it on first run (never in production)."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if app.config["BLOG_ENV"] == "production":
        raise ConfigError("SECRET_KEY", "is missing (set it in the environment or instance/)")
    key = secrets.token_hex(32)
    # Written owner-only: the key signs sessions and email links.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
