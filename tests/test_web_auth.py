"""Logins of the web page (issue 16): ``nasicon users``, password sessions with secure
cookies, CSRF on every form, roles, rate-limited failed logins shared by every worker, and
nothing served without a login but the login page, static files and /healthz. Every test
runs a real ``nasicon web`` over a real SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from web_server import PASSWORD, Server, add_user, launch, nasicon, start

from nasicon.web.app import create_app


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    server = launch(tmp_path_factory.mktemp("web_auth"))
    yield server
    server.stop()


def test_users_add_prints_the_token_last_and_it_opens_the_api(web: Server) -> None:
    with web.client(web.tokens["lab"]) as api:
        assert api.get("/api/v1/me").json() == {"name": "lab", "role": "lab"}
    listed = nasicon(["users", "list"], web.cwd, web.db_url)
    assert listed.returncode == 0 and "ada" in listed.stdout and "viewer" in listed.stdout
    bad = nasicon(["users", "add", "x", "--role", "boss", "--password-stdin"], web.cwd,
                  web.db_url, stdin=PASSWORD + "\n")  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --role 'boss' is not one of viewer, lab, admin"
    )
    short = nasicon(["users", "add", "x", "--role", "lab", "--password-stdin"], web.cwd,
                    web.db_url, stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    again = nasicon(["users", "add", "lab", "--role", "lab", "--password-stdin"], web.cwd,
                    web.db_url, stdin=PASSWORD + "\n")  # fmt: skip
    assert again.returncode == 2 and "user 'lab' exists already" in again.stderr


def test_the_cli_roles_are_the_tables_roles() -> None:
    from nasicon.cli.users_commands import ROLES
    from registry.tables import USER_ROLES

    assert ROLES == USER_ROLES


def test_token_rotation_and_disabling(web: Server, tmp_path: Path) -> None:
    old = add_user(web.cwd, web.db_url, "rot", "lab")
    proc = nasicon(["users", "token", "rot"], web.cwd, web.db_url)
    new = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0 and new != old and new.startswith("nsk_")
    with web.client(old) as api:
        assert api.get("/api/v1/me").status_code == 401
    with web.client(new) as api:
        assert api.get("/api/v1/me").status_code == 200
    browser = web.login("rot")
    assert browser.get("/queue").status_code == 200
    assert nasicon(["users", "disable", "rot"], web.cwd, web.db_url).returncode == 0
    with web.client(new) as api:
        assert api.get("/api/v1/me").status_code == 401
    gone = browser.get("/queue")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


def test_a_login_sets_a_session_cookie_that_logout_ends(web: Server) -> None:
    client = httpx.Client(base_url=web.url)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"name": "lab", "password": PASSWORD, "csrf_token": token,
                                       "next": "https://evil.example/x"})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/queue"  # no open redirect
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = client.get("/queue")
    assert page.status_code == 200 and "lab · lab" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    stolen = dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    replay = httpx.get(f"{web.url}/queue", cookies=stolen)  # the old cookie is dead server-side
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_cookies_are_secure_unless_insecure_cookies_is_given(tmp_path: Path, web: Server) -> None:
    server = start(tmp_path, web.db_url, insecure=False)
    try:
        client = httpx.Client(base_url=server.url)
        form = client.get("/login")
        assert "Secure" in form.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        # a client does not send a Secure cookie over plain http: hand it over, as TLS would
        done = client.post("/login", data={"name": "lab", "password": PASSWORD,
                                           "csrf_token": token},
                           headers={"Cookie": f"nasicon_login_csrf={token}"})  # fmt: skip
        assert done.status_code == 303 and "Secure" in done.headers["set-cookie"]
        session = done.cookies.get("nasicon_session") or ""
        plain = httpx.get(f"{server.url}/queue", cookies={"nasicon_session": session})
        assert plain.status_code == 200  # the server takes it; the browser keeps it to HTTPS
    finally:
        server.stop()


def test_every_form_post_needs_the_sessions_csrf_token(web: Server) -> None:
    client = web.login("lab")
    before = web.counts()
    cases = [
        ("/queue/1/claim", {}),
        ("/queue/1/claim", {"csrf_token": "forged"}),
        ("/record/synthesis", {"csrf_token": "", "sample": "C1", "formula": "Na3Zr2Si2PO12",
                               "succeeded": "true"}),
        ("/retract", {"kind": "synthesis", "record_id": "1", "reason": "x"}),
    ]  # fmt: skip
    for path, data in cases:
        response = client.post(path, data=data)
        assert response.status_code == 403, path
        assert "CSRF token" in response.text
    page = client.get("/queue")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    foreign = client.post("/queue/1/claim", data={"csrf_token": csrf},
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403 and "cross-site" in foreign.text
    assert web.counts() == before


def test_a_viewer_reads_but_may_not_write(web: Server) -> None:
    client = web.login("val")
    page = client.get("/queue")
    assert page.status_code == 200 and "Claim" not in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = web.counts()
    for path in ("/queue/1/claim", "/record/synthesis", "/users"):
        response = client.post(path, data={"csrf_token": csrf, "sample": "V1",
                                           "formula": "Na3Zr2Si2PO12", "succeeded": "true"})
        assert response.status_code == 403, path
        assert "val is a viewer" in response.text
    assert client.get("/record/synthesis").status_code == 403
    assert client.get("/users").status_code == 403
    with web.client(web.tokens["val"]) as api:
        refused = api.post("/api/v1/queue/1/claim")
        assert refused.status_code == 403
        assert refused.json() == {"error": "val is a viewer; this needs lab"}
    assert web.counts() == before


def _all_routes(web: Server) -> list[tuple[str, str]]:
    from nasicon.settings import load_config

    config = load_config(environ={"NASICON_DB": web.db_url})
    app = create_app(config)
    app.state.web.registry.close()
    routes = []
    for route in app.routes:  # an included router's routes are behind original_router
        inner = getattr(route, "original_router", None)
        routes.extend(inner.routes if inner is not None else [route])
    out = []
    for route in routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method == "HEAD":
                continue
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            out.append((method, concrete))
    return out


def test_nothing_but_login_static_and_healthz_without_a_login(web: Server) -> None:
    routes = _all_routes(web)
    assert ("GET", "/queue") in routes and ("POST", "/api/v1/outcomes/xrd") in routes
    open_paths = {"/login", "/healthz", "/static"}
    with httpx.Client(base_url=web.url) as anonymous:
        for method, path in routes:
            response = anonymous.request(method, path)
            if path in open_paths:
                assert response.status_code in (200, 303, 307, 403, 404), (method, path)
                continue
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
                assert "error" in response.json()
            else:
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/login?next="), (method, path)
        assert anonymous.get("/static/style.css").status_code == 200
        assert anonymous.get("/healthz").json()["status"] == "ok"
        page = anonymous.get("/login")
        assert page.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_failed_logins_are_limited_per_name_and_per_client_across_workers(
    tmp_path: Path, web: Server
) -> None:
    """Two servers over one database: the failures made on one count on the other."""
    other = start(tmp_path, web.db_url)
    try:
        add_user(web.cwd, web.db_url, "eve", "viewer")

        def attempt(server: Server, name: str, password: str) -> httpx.Response:
            client = httpx.Client(base_url=server.url)
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            return client.post("/login", data={"name": name, "password": password,
                                               "csrf_token": token})  # fmt: skip

        for i in range(5):  # [web] max_failed_logins_per_user = 5
            server = web if i % 2 else other
            assert attempt(server, "eve", "wrong password").status_code == 401
        locked = attempt(web, "eve", PASSWORD)  # even the right password: locked for now
        assert locked.status_code == 429 and "too many failed logins" in locked.text
        assert attempt(other, "lab", PASSWORD).status_code == 303  # another name still works
        for i in range(15):  # 20 per client address: 5 above + 15 more
            assert attempt(other, f"nobody{i}", "x").status_code == 401
        assert attempt(web, "ada", PASSWORD).status_code == 429  # this client is locked now
    finally:
        other.stop()
    import sqlalchemy as sa

    engine = sa.create_engine(web.db_url)
    with engine.begin() as conn:  # unlock the client address for the other tests
        conn.execute(sa.text("DELETE FROM login_failures"))
    engine.dispose()
