"""A redeployment after a code change rebuilds the image and replaces the API
replicas (new containers, new names) behind the proxy, which stays, and every
book written before is still there: the database volume is reused."""

from __future__ import annotations

import secrets

import pytest

from tests.live.conftest import all_books, http, isbn13

pytestmark = pytest.mark.live

TEMPLATE = "app/books/templates/books/book_list.html"


def test_redeploy_after_a_code_change_keeps_every_book(live_stack):
    first = live_stack.deploy()
    base = first["url"]
    token = live_stack.api_token(first["api_container_names"][0])
    written = []
    for n in range(5):
        book = {
            "title": f"Kept book {n}",
            "subtitle": f"part {n}",
            "author": f"Author {n}",
            "isbn": isbn13(f"978{secrets.randbelow(10**9):09d}"),
        }
        response = http("POST", f"{base}api/books/", token, json=book)
        assert response.status_code == 201, response.text
        written.append(response.json())
    api_ids = {c.name: c.id for c in live_stack.containers("api")}
    (proxy,) = live_stack.containers("proxy")
    (db,) = live_stack.containers("db")

    # The code change: a marker in the website's list template.
    marker = f"live-redeploy-marker-{secrets.token_hex(4)}"
    template = live_stack.repo / TEMPLATE
    source = template.read_text()
    assert "{% endblock %}" in source
    head, _, tail = source.rpartition("{% endblock %}")
    template.write_text(f"{head}<!-- {marker} -->\n{{% endblock %}}{tail}")

    second = live_stack.deploy()

    assert second["image"] != first["image"], "the code change must produce a new image"
    assert second["volume_name"] == first["volume_name"]
    assert second["migration_container_name"] != first["migration_container_name"]
    new_api = {c.name: c for c in live_stack.containers("api")}
    assert len(new_api) == live_stack.replicas
    assert set(new_api) == set(second["api_container_names"])
    assert not set(new_api) & set(api_ids), "every replica is a new (auto-named) container"
    for container in new_api.values():
        assert container.image.id == second["image"]
        assert container.status == "running"
    # Unchanged inputs, unchanged containers: the proxy and the database stay.
    assert [c.id for c in live_stack.containers("proxy")] == [proxy.id]
    assert [c.id for c in live_stack.containers("db")] == [db.id]

    url = second["url"]
    assert http("GET", f"{url}readyz").status_code == 200
    for _ in range(2 * live_stack.replicas):  # whichever replica answers
        page = http("GET", url)
        assert page.status_code == 200 and marker in page.text, "the new code is not served"
    books = {b["id"]: b for b in all_books(url)}
    for book in written:
        assert books.get(book["id"]) == book, f"book {book['id']} lost or changed"
    # The token (a row in the kept database) still works against the new containers.
    patched = http("PATCH", f"{url}api/books/{written[0]['id']}/", token, json={"subtitle": "after"})
    assert patched.status_code == 200, patched.text
