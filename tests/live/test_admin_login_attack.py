"""Guessing admin passwords against a deployed stack: the proxy limits attempts per
client address, the app locks the account, reads stay fast, and a correct login
works once the proxy's window has passed (docs/reliability.md, hostile input)."""

from __future__ import annotations

import re
import secrets
import statistics
import threading
import time

import pytest
import requests

from tests.conftest import load_infra_module
from tests.live.conftest import NO_THROTTLING
from tests.live.traffic import LoopbackSession

pytestmark = pytest.mark.live

ATTEMPTS = 20


def login(session: requests.Session, base: str, username: str, password: str) -> requests.Response:
    """One admin login as a browser makes it: the form's CSRF token, then the POST."""
    page = session.get(f"{base}admin/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert page.status_code == 200 and match, page.status_code
    form = {"csrfmiddlewaretoken": match.group(1), "username": username, "password": password, "next": "/admin/"}
    return session.post(f"{base}admin/login/", data=form, headers={"Referer": f"{base}admin/login/"})


def read_seconds(base: str, count: int) -> list[float]:
    times = []
    with LoopbackSession() as session:
        for _ in range(count):
            started = time.monotonic()
            assert session.get(f"{base}api/books/?page_size=5").status_code == 200
            times.append(time.monotonic() - started)
    return times


def test_guessing_admin_passwords_is_refused_early_and_reads_stay_fast(live_stack):
    outputs = live_stack.deploy(**NO_THROTTLING)
    base = outputs["url"]
    password = secrets.token_urlsafe(18)
    api = live_stack.client.containers.get(outputs["api_container_names"][0])
    made = api.exec_run(
        ["python", "manage.py", "createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.com"],
        environment={"DJANGO_SUPERUSER_PASSWORD": password},
    )
    assert made.exit_code == 0, made.output.decode()
    baseline = statistics.median(read_seconds(base, 30))

    answers: list[requests.Response] = []
    during: list[float] = []

    def attack() -> None:
        with LoopbackSession() as session:
            for n in range(ATTEMPTS):
                answers.append(login(session, base, "admin", f"wrong-{n}"))

    attacker = threading.Thread(target=attack)
    attacker.start()
    while attacker.is_alive():
        during += read_seconds(base, 5)
    attacker.join()

    statuses = [answer.status_code for answer in answers]
    nginx = load_infra_module("nginx_config")
    proxy_refused = [a for a in answers if a.status_code == 429 and a.headers.get("Content-Type") == "application/json"]
    app_refused = [a for a in answers if a.status_code == 429 and a.headers.get("Content-Type", "").startswith("text/")]
    print(
        f"FIGURE admin-attack attempts={ATTEMPTS} statuses={statuses} proxy_429={len(proxy_refused)} "
        f"app_429={len(app_refused)} read_median_s={baseline:.4f} read_median_during_s={statistics.median(during):.4f}"
    )
    # The proxy lets a burst through, then refuses with its JSON 429 and Retry-After ...
    assert len(proxy_refused) >= ATTEMPTS - nginx.ADMIN_LOGIN_BURST - 1, statuses
    assert proxy_refused[0].json() == {"detail": "Too many login attempts from this address: try again later."}
    retry_after = int(proxy_refused[0].headers["Retry-After"])
    # ... and of those that got through, the ones past the account's limit the app refused unhashed.
    assert app_refused or len(answers) - len(proxy_refused) < 5, statuses
    # Reads stayed fast: no password hashing piled up in front of them.
    assert statistics.median(during) < max(5 * baseline, 0.25), (baseline, statistics.median(during))

    # The account the attacker guessed at is locked (a correct password refused too, with the
    # app's 429) while the proxy's window lets attempts through again after Retry-After.
    time.sleep(retry_after + 1)
    with LoopbackSession() as session:
        locked = login(session, base, "admin", password)
    assert locked.status_code == 429 and "locked" in locked.text, locked.status_code

    # Another account logs in normally from the same address once the window has passed.
    other = secrets.token_urlsafe(18)
    made = api.exec_run(
        ["python", "manage.py", "createsuperuser", "--noinput", "--username", "owner", "--email", "o@example.com"],
        environment={"DJANGO_SUPERUSER_PASSWORD": other},
    )
    assert made.exit_code == 0, made.output.decode()
    time.sleep(retry_after + 1)
    with LoopbackSession() as session:
        ok = login(session, base, "owner", other)
        assert ok.status_code == 302 and ok.headers["Location"] == "/admin/", (ok.status_code, ok.text[:300])
        assert session.get(f"{base}admin/").status_code == 200
