"""A WSGI app for tests/app/test_draining.py: answers after `?sleep=S` seconds
with "ok:" and the request body, so a test can keep gunicorn's only worker
busy while other connections wait in the accept queue."""

import time
from urllib.parse import parse_qs


def application(environ, start_response):
    delay = float(parse_qs(environ.get("QUERY_STRING", "")).get("sleep", ["0"])[0])
    time.sleep(delay)
    body = b"ok:" + environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
