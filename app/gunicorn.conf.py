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
    """On SIGTERM, drain before the graceful exit: refuse new connections,
    serve every connection already made, then let gunicorn finish in-flight
    requests and close.

    gunicorn alone stops accepting at once but keeps the listening socket
    open until the worker exits: connections that arrive meanwhile (the
    proxy still resolves this replica until its container is gone) wait in
    the kernel's accept queue and are reset at exit, after the proxy sent
    them a request it cannot resend if it is a write. See config/draining.py.
    """
    import signal
    import threading

    from config.draining import refuse_new_connections, wait_until_drained

    graceful_exit = signal.getsignal(signal.SIGTERM)
    drain_limit = _int("GUNICORN_DRAIN_LIMIT_SECONDS", 5)
    draining = threading.Event()
    # gunicorn's wrappers hold the raw sockets in `.sock`.
    listeners = [getattr(listener, "sock", listener) for listener in worker.sockets]

    def drain_then_exit(signum, frame):
        if draining.is_set():
            return
        draining.set()
        try:
            for listener in listeners:
                refuse_new_connections(listener)
        except OSError as e:  # no socket filters here: at least refuse from now on
            worker.log.warning("cannot drain the listener (%s); closing it instead", e)
            for listener in listeners:
                listener.close()
            graceful_exit(signum, frame)
            return

        def finish():
            if not wait_until_drained(listeners, limit_seconds=drain_limit):
                worker.log.warning("connections still waiting after %s s of draining", drain_limit)
            graceful_exit(signum, None)

        # The worker's loop keeps accepting meanwhile; a signal handler must not block.
        threading.Thread(target=finish, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, drain_then_exit)
