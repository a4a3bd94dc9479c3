"""gunicorn settings, tunable from the environment.

Defaults suit a small container: a few workers with threads (gthread), so a
slow request does not block the others; request timeouts so a stuck worker is
replaced; a graceful timeout below Docker's stop timeout (10 s) so SIGTERM
finishes in-flight requests before SIGKILL arrives.
"""

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer") from None


bind = f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
# Load the app before listening: a replica whose code fails to load never
# accepts a connection (the proxy moves on to another replica) instead of
# accepting some and resetting them when its workers fail to boot.
preload_app = True
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 8)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then: bounds the cost of any slow leak.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# Request-line and header limits against oversized or slow-drip headers.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Heartbeat files in memory: the root file system is read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No runtime control socket (gunicornc): nothing to manage from inside a
# container, and no writable home on a read-only root file system anyway.
control_socket_disable = True
# Only the local reverse proxy may set X-Forwarded-* (comma-separated addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s, "user_agent": "%(a)s"}'
)


def post_worker_init(worker):
    """On SIGTERM, stop listening at once, then finish in-flight requests.

    gunicorn's graceful stop only stops *accepting*: the listening socket
    stays open until the worker exits, so connections that arrive meanwhile
    (the proxy still resolves this replica until its container is gone) wait
    in the kernel's accept queue and are reset at exit. The proxy cannot
    retry a write it has already sent. Closing the socket first makes those
    connections *refused* instead, which the proxy retries on another
    replica, writes included. What is left, a connection queued in the very
    instant of the close, is closed by the deployment draining the listener
    before it stops a replica (core/draining.py, infra/drain_hook.py).
    """
    import signal

    graceful_exit = signal.getsignal(signal.SIGTERM)

    def stop_listening_then_exit(signum, frame):
        for listener in worker.sockets:
            # The raw socket only: gunicorn's wrapper stays usable for its own cleanup.
            raw = getattr(listener, "sock", None)
            if raw is not None:
                raw.close()
        graceful_exit(signum, frame)

    signal.signal(signal.SIGTERM, stop_listening_then_exit)
