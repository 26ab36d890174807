"""Deployment facts from the environment; admin-tunable values live in the settings table."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _env(name, default=None):
    return os.environ.get(name, default)


def _instance_secret(instance_path: str) -> str:
    """A per-installation secret for development, kept under instance/ (never in code)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Settings for development and `make run`: SQLite under instance/, in-process delivery."""

    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")  # filled from instance_path when unset
    # Pooled connections are pinged only after sitting idle (extensions.configure_engine).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = _env("REDIS_URL")
    SECRET_KEY = _env("PORTAL_SECRET_KEY") or _env("SECRET_KEY")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "portal_session"
    # Absolute lifetime of a sign-in; the idle limit is checked on every request.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(_env("PORTAL_SESSION_HOURS", "12")))
    SESSION_IDLE_MINUTES = int(_env("PORTAL_SESSION_IDLE_MINUTES", "30"))
    # The cookie is sent again when the session changes (its last-seen time, once a minute
    # of use: security.enforce_timeouts), not on every response.
    SESSION_REFRESH_EACH_REQUEST = False
    API_TOKEN_DAYS = int(_env("PORTAL_API_TOKEN_DAYS", "30"))

    # Six 10 MB photos fit; each feature checks its own limit (imports: 20 MB).
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    UPLOAD_DIR = _env("PORTAL_UPLOAD_DIR")  # default: instance/uploads
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = "translations"
    LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

    BOOTSTRAP_SERVE_LOCAL = True

    RATELIMIT_STORAGE_URI = _env("REDIS_URL", "memory://")
    # A Redis that does not answer fails fast; the limiter then counts in memory (per process).
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    RATELIMIT_HEADERS_ENABLED = True
    # Failed sign-ins per client address, and per account (username or phone) from anywhere.
    LOGIN_RATE_LIMIT = _env("PORTAL_LOGIN_RATE_LIMIT", "10 per 5 minutes")
    LOGIN_ACCOUNT_RATE_LIMIT = _env("PORTAL_LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")
    # Checks of passes per checker (page and API together): a gate's busiest hour stays far
    # below it; typing one number after another through the day's passes does not.
    PASS_CHECK_RATE_LIMIT = _env("PORTAL_PASS_CHECK_RATE_LIMIT", "60 per 5 minutes")
    # Reverse proxies in front of the portal whose X-Forwarded-* headers are believed (0: none).
    PROXY_COUNT = int(_env("PORTAL_PROXY_COUNT", "0"))

    SMS_GATEWAY_URL = _env("SMS_GATEWAY_URL")
    # Online payment: the provider adapter and the sandbox's signing secret (derived from
    # the secret key when unset). A real gateway is another adapter in fees/online.py.
    PAYMENT_PROVIDER = _env("PAYMENT_PROVIDER", "sandbox")
    PAYMENT_SANDBOX_SECRET = _env("PAYMENT_SANDBOX_SECRET")
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = int(_env("MAIL_PORT", "25"))
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "portal@localhost")
    MAIL_USE_TLS = _env("MAIL_USE_TLS", "") in ("1", "true", "yes")

    # Seconds between delivery attempts; after the last one a row is marked failed.
    OUTBOX_RETRY_INTERVALS = [
        int(x) for x in _env("PORTAL_OUTBOX_RETRY_INTERVALS", "30,120,600,1800").split(",")
    ]
    JOB_RESULTS_DIR = _env("PORTAL_JOB_RESULTS_DIR")  # default: instance/job-results

    # Report figures are cached per estate and period until a write changes them
    # (core/figures.py); the tests turn it on where they prove it.
    FIGURES_CACHE = True

    TESTING = False
    PRODUCTION = False


class ProductionConfig(Config):
    """Behind a TLS proxy: secure cookies, and no start without the real services named."""

    SESSION_COOKIE_SECURE = True
    PRODUCTION = True


class TestConfig(Config):
    """The test suite's base; the database URL is given by the fixture."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    RATELIMIT_STORAGE_URI = "memory://"
    REDIS_URL = None
    WTF_CSRF_ENABLED = False
    SERVER_NAME = None
    FIGURES_CACHE = False  # tests reuse estate ids across rolled-back data


def load_config(app, config=None):
    """Fill app.config from a config class or mapping, then fill the instance defaults."""
    if config is None:
        production = _env("PORTAL_ENV") == "production"
        app.config.from_object(ProductionConfig if production else Config)
    elif isinstance(config, dict):
        app.config.from_object(TestConfig)
        app.config.update(config)
    else:
        app.config.from_object(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "portal.sqlite3"
        db_path.parent.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgres://") :]
    elif uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "postgresql+psycopg://" + uri[len("postgresql://") :]
        )
    if not app.config.get("SECRET_KEY"):
        if app.config["PRODUCTION"]:
            raise RuntimeError("PORTAL_SECRET_KEY must be set in production")
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
