"""Content-Security-Policy on the real pages: the policy is strict, and the pages live within it.

A browser enforces the policy; here each page's HTML is read the way the policy
judges it: every script and stylesheet is a file of this origin that the app
serves, and nothing inline would need 'unsafe-inline' (no script body, no
<style>, no style= or on...= attribute). docs/app.md, "Security headers".
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from books.models import Book
from core.csp import INLINE_STYLES_POLICY, POLICY, REDOC_POLICY

pytestmark = pytest.mark.django_db

#: Script types a browser runs; others (application/json) are data, not code.
SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}


class InlineFinder(HTMLParser):
    """The page's external scripts and stylesheets, and whatever would run or style inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline: list[str] = []
        self._in_code_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "script" and (attributes.get("type") or "").lower() in SCRIPT_TYPES:
            if attributes.get("src"):
                self.scripts.append(attributes["src"])
            else:
                self._in_code_script = True
        elif tag == "style":
            self.inline.append("<style>")
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.stylesheets.append(attributes["href"] or "")
        elif tag == "a" and (attributes.get("href") or "").lower().startswith("javascript:"):
            self.inline.append("<a href=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_code_script = False

    def handle_data(self, data):
        if self._in_code_script and data.strip():
            self.inline.append(f"<script>{data.strip()[:60]}")


def page(client, path: str) -> tuple[str, InlineFinder]:
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200, (path, response.status_code)
    finder = InlineFinder()
    finder.feed(response.content.decode())
    return response["Content-Security-Policy"], finder


def test_the_policy_is_strict():
    directives = dict(part.split(" ", 1) for part in POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in POLICY and "http" not in POLICY and "*" not in POLICY
    # Redoc's page and the browsable API relax styles only (its injected <style> elements), never scripts.
    for relaxed in (REDOC_POLICY, INLINE_STYLES_POLICY):
        directives = dict(part.split(" ", 1) for part in relaxed.split("; "))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self' 'unsafe-inline'"


@pytest.mark.parametrize(
    "path",
    ["/", "/books/{book}/", "/admin/login/", "/api/docs/", "/api/redoc/"],
)
def test_pages_carry_the_policy_and_need_nothing_inline(client, path):
    book = Book.objects.create(title="Dune", author="Frank Herbert", isbn="9780441172719")
    policy, found = page(client, path.format(book=book.pk))
    assert policy == (REDOC_POLICY if path == "/api/redoc/" else POLICY)
    assert found.inline == [], found.inline
    # Everything the page loads is a file of this origin ('self') that the app serves.
    for url in found.scripts + found.stylesheets:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = "javascript" if url in found.scripts else "text/css"
        assert kind in asset["Content-Type"], (url, asset["Content-Type"])  # nosniff: the right type or refused
    assert found.scripts or found.stylesheets


@pytest.mark.parametrize("path", ["/api/", "/api/books/"])
def test_the_browsable_api_needs_inline_styles_only(client, settings, path):
    settings.API_BROWSABLE = True  # off in production (tests/app/test_contract.py)
    policy, found = page(client, path)
    assert policy == INLINE_STYLES_POLICY
    assert found.inline and all(not item.startswith("<script") and " on" not in item for item in found.inline)


def test_swagger_ui_start_script_is_a_file_of_its_own(client):
    _, found = page(client, "/api/docs/")
    start = [url for url in found.scripts if "script" in url]
    assert start and start[0].startswith("/api/docs/?")
    script = client.get(start[0])
    assert "SwaggerUIBundle" in script.content.decode()


def test_json_answers_carry_the_policy_too(client):
    response = client.get("/api/books/", HTTP_ACCEPT="application/json")
    assert response["Content-Security-Policy"] == POLICY
