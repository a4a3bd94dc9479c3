"""A fresh deployment of the CI stack serves the API and the website through
the reverse proxy on its published 127.0.0.1 port: readiness, CRUD with a
token, pages, OpenAPI, and what the proxy adds (balancing over the replicas,
forwarded headers, gzip, body limit, JSON errors)."""

from __future__ import annotations

import secrets

import pytest

from tests.live.conftest import all_books, http, isbn13, wait_for

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def fresh(module_live_stack):
    outputs = module_live_stack.deploy()
    token = module_live_stack.api_token(outputs["api_container_names"][0])
    return module_live_stack, outputs, token


def test_outputs_describe_the_deployment(fresh):
    stack, outputs, _ = fresh
    assert outputs["url"] == f"http://127.0.0.1:{stack.host_port}/"
    assert "urls" not in outputs
    assert len(outputs["api_container_names"]) == stack.replicas
    assert outputs["proxy_container_name"] == f"library-{stack.stack}-proxy"
    assert outputs["image"].startswith("sha256:")
    assert "database_url" in outputs.secret_names
    running = {c.name: c.status for c in stack.containers()}
    for name in [*outputs["api_container_names"], outputs["db_container_name"], outputs["proxy_container_name"]]:
        assert running.get(name) == "running", running
    migration = stack.client.containers.get(outputs["migration_container_name"])
    assert migration.attrs["State"]["ExitCode"] == 0


def test_only_the_proxy_publishes_a_port(fresh):
    stack, outputs, _ = fresh
    published = {c.name: c.attrs["HostConfig"].get("PortBindings") or {} for c in stack.containers()}
    assert published.pop(outputs["proxy_container_name"]) == {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(stack.host_port)}]
    }
    assert all(not bindings for bindings in published.values()), published


def test_the_proxy_balances_over_every_replica(fresh):
    stack, outputs, _ = fresh
    assert http("GET", f"{outputs['url']}healthz").status_code == 200
    ready = http("GET", f"{outputs['url']}readyz")
    assert ready.status_code == 200, ready.text
    for _ in range(4 * stack.replicas):
        assert http("GET", f"{outputs['url']}api/").status_code == 200
    # Each replica's own access log saw requests (gunicorn logs the path).
    for name in outputs["api_container_names"]:
        log = stack.client.containers.get(name).logs().decode("utf-8", "replace")
        assert '"path": "/api/"' in log, f"{name} got no request through the proxy"


def test_the_proxy_forwards_host_and_scheme_and_compresses(fresh):
    stack, outputs, token = fresh
    base = outputs["url"]
    for n in range(2):
        book = {"title": f"Forwarded {n}", "author": "Proxy", "isbn": isbn13(f"979{secrets.randbelow(10**9):09d}")}
        assert http("POST", f"{base}api/books/", token, json=book).status_code == 201
    # The app builds links from the stack's origin (publicOrigin, here derived: the `url`),
    # never from a client's Host or its own X-Forwarded-Proto/-Host.
    page = http(
        "GET",
        f"{base}api/books/?page_size=1",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    )
    assert page.status_code == 200, page.text
    assert page.json()["next"].startswith(f"{base}api/books/?"), page.json()["next"]
    gzipped = http("GET", f"{base}api/schema/", headers={"Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200 and gzipped.headers.get("Content-Encoding") == "gzip"
    assert "openapi" in gzipped.text
    proxy = stack.client.containers.get(outputs["proxy_container_name"])

    def logged() -> bool:
        # nginx logs a request after answering it, and Docker's log driver
        # stores the line asynchronously: the line may lag the response.
        proxy_log = proxy.logs().decode("utf-8", "replace")
        return '"uri":"/api/schema/"' in proxy_log and '"upstream":"' in proxy_log

    wait_for(logged, 10, "the proxy's access log line of /api/schema/")


def test_the_proxy_bounds_bodies_and_answers_errors_as_json(fresh):
    _, outputs, token = fresh
    too_big = http(
        "POST",
        f"{outputs['url']}api/books/",
        token,
        data=b"x" * (64 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.headers["Content-Type"] == "application/json"
    assert "limit is 65536 bytes" in too_big.json()["detail"]


def test_books_crud_through_the_api_with_a_token(fresh):
    _, outputs, token = fresh
    base = outputs["url"]
    other = base  # the proxy balances: the next requests may land on another replica
    assert http("GET", f"{base}api/").status_code == 200

    # ISBN-10 in, normalized ISBN-13 digits stored.
    book = {"title": "Live Title", "subtitle": "A subtitle", "author": "A. Author", "isbn": "0-306-40615-2"}
    created = http("POST", f"{base}api/books/", token, json=book)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "title", "subtitle", "author", "isbn"}
    assert body["isbn"] == "9780306406157"
    book_url = f"{base}api/books/{body['id']}/"

    fetched = http("GET", f"{other}api/books/{body['id']}/", token)
    assert fetched.status_code == 200 and fetched.json() == body

    patched = http("PATCH", book_url, token, json={"subtitle": "Second edition"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["subtitle"] == "Second edition"

    replaced = http("PUT", book_url, token, json={**book, "title": "Renamed", "isbn": "9780306406157"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Renamed"
    assert any(b["id"] == body["id"] and b["title"] == "Renamed" for b in all_books(other, token))

    assert http("DELETE", book_url, token).status_code == 204
    assert http("GET", book_url, token).status_code == 404


def test_writes_without_a_token_are_refused(fresh):
    _, outputs, _ = fresh
    base = outputs["url"]
    response = http("POST", f"{base}api/books/", json={"title": "x", "author": "y", "isbn": isbn13("978000000000")})
    assert response.status_code in (401, 403), response.text
    bad_token = http("POST", f"{base}api/books/", "0" * 40, json={"title": "x"})
    assert bad_token.status_code == 401


def test_website_list_and_detail_pages_render(fresh):
    _, outputs, token = fresh
    base = outputs["url"]
    title = f"Website book {secrets.token_hex(4)}"
    isbn = isbn13("978" + str(secrets.randbelow(10**9)).zfill(9))
    created = http("POST", f"{base}api/books/", token, json={"title": title, "author": "Web Author", "isbn": isbn})
    assert created.status_code == 201, created.text
    book_id = created.json()["id"]

    listing = http("GET", base)
    assert listing.status_code == 200
    assert "text/html" in listing.headers["Content-Type"]
    assert title in listing.text

    detail = http("GET", f"{base}books/{book_id}/")
    assert detail.status_code == 200
    assert title in detail.text and "Web Author" in detail.text

    assert http("GET", f"{base}books/999999999/").status_code == 404


def test_openapi_schema_and_docs_are_served(fresh):
    _, outputs, _ = fresh
    base = outputs["url"]
    schema = http("GET", f"{base}api/schema/")
    assert schema.status_code == 200
    assert "openapi" in schema.text and "/api/books/" in schema.text
    docs = http("GET", f"{base}api/docs/")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["Content-Type"]
    assert "swagger" in docs.text.lower()
    admin = http("GET", f"{base}admin/")
    assert admin.status_code in (200, 302)
