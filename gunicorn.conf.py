"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (PORT, GUNICORN_WORKERS or
WEB_CONCURRENCY, GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG) or on the command line.
"""

import multiprocessing
import os


def _int(*names: str, default: int) -> int:
    """The first of these environment variables that is set, as a number."""
    for name in names:
        if os.environ.get(name, "").strip():
            return int(os.environ[name])
    return default


# Behind the reverse proxy: listen on PORT (all interfaces, as in a container).
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', default=8000)}"

# Sync workers, two per core and one more: a slow request holds one worker, not the site
# (long work — batch PDFs, busy days' cash reports, billing runs — is a job: portal/jobs.py).
workers = _int("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=2 * multiprocessing.cpu_count() + 1)
worker_class = "sync"

# A request still running after `timeout` seconds is killed (and logged); a stop or reload
# lets running requests finish for `graceful_timeout` seconds.
timeout = _int("GUNICORN_TIMEOUT", default=60)
graceful_timeout = 30
# The proxy keeps connections open between requests.
keepalive = 5
# Let overlong addresses reach the portal, which answers them (from 4,000 characters) with
# 414 in its own error format; gunicorn's own 400 only past its maximum of 8,190 bytes.
limit_request_line = 8190

# Recycle a worker now and then (memory held by a large PDF or import goes back).
max_requests = 2000
max_requests_jitter = 200

# The access log to stdout, the error log to stderr (the container or systemd collects
# them): client, user-agent, status, size, duration in ms, and the proxy's X-Forwarded-For.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s"'
)

# Take the proxy's X-Forwarded-* headers from the local proxy only (the portal itself
# trusts them only as configured: PORTAL_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
