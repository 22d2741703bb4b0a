"""The web page in a real Chromium (Playwright, Debian's chromium) against a real ``nasicon
web`` on a real SQLite file (issue 16): log in, claim a proposal, record its synthesis,
upload an XRD pattern (preview with plot and verdict, then save), see both in the sample's
history; a viewer cannot record; logged out, every page sends to the login.

Chromium is looked for at $NASICON_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser
(``.ci/run`` installs Debian's); without one these tests skip and say so.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from registry_fixtures import NZSP
from web_server import PASSWORD, Server, launch, xrd_pattern

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def chromium_path() -> str | None:
    """Debian's Chromium (or $NASICON_CHROMIUM), if installed."""
    for candidate in (os.environ.get("NASICON_CHROMIUM"), "/usr/bin/chromium",
                      "/usr/bin/chromium-browser", shutil.which("chromium")):  # fmt: skip
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set NASICON_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    server = launch(tmp_path_factory.mktemp("web_browser"))
    yield server
    server.stop()


@pytest.fixture
def page(browser, web: Server):
    context = browser.new_context(base_url=web.url, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def log_in(page, name: str) -> None:
    page.goto("/queue")
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url("**/queue")


def test_claim_record_synthesis_and_xrd_then_see_the_history(page, web: Server, tmp_path):
    log_in(page, "lab")
    row = page.locator("tr[data-status=queued]", has_text=NZSP)
    proposal_id = row.get_attribute("id").removeprefix("proposal-")
    row.get_by_role("button", name="Claim").click()
    page.wait_for_url("**/queue?done=claim*")
    claimed = page.locator(f"#proposal-{proposal_id}")
    assert claimed.get_attribute("data-status") == "claimed"
    assert "lab" in claimed.locator(".lease").inner_text()

    claimed.get_by_role("link", name="Record").click()  # the form knows formula and proposal
    assert page.input_value("#f-formula") == NZSP
    page.fill("#f-sample", "B-1")
    page.fill("#f-calcination_c", "hot")  # an error first: shown next to its field
    page.click("text=Save synthesis")
    assert "calcination-c" in page.inner_text("#error-calcination_c")
    assert web.counts()["synthesis_records"] == 0
    page.fill("#f-calcination_c", "900")
    page.click("text=Save synthesis")
    page.wait_for_url("**/samples/B-1*")
    assert "synthesis 1" in page.inner_text("#history")

    page.click("text=Upload XRD pattern")
    page.set_input_files("#f-pattern", str(xrd_pattern(tmp_path / "b1.xy")))
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("#verdict")
    assert "phase pure" in page.inner_text("#verdict")  # shown before anything is saved
    assert page.locator("#analysis-plot").evaluate("img => img.naturalWidth") > 100
    assert web.counts()["xrd_results"] == 0 and web.stored_files() == []
    page.click("text=Save this result")
    page.wait_for_url("**/samples/B-1*")
    history = page.inner_text("#history")
    assert "xrd 1" in history and "phase_pure" in history and "lab" in history
    assert len(web.stored_files()) == 1
    link = page.locator("a", has_text="raw file")
    assert link.get_attribute("href") == f"/raw/{web.stored_files()[0].split('/')[-1][:64]}"
    with web.client(web.tokens["val"]) as api:
        proposal = api.get("/api/v1/samples/B-1").json()["proposal"]
    assert proposal["id"] == int(proposal_id) and proposal["status"] == "measured"


def test_a_viewer_reads_but_cannot_record(page, web: Server) -> None:
    log_in(page, "val")
    assert page.locator("button", has_text="Claim").count() == 0
    assert page.locator("header nav a", has_text="Record").count() == 0
    response = page.goto("/record/synthesis")
    assert response.status == 403 and "val is a viewer" in page.inner_text("#page-error")


def test_logged_out_every_page_sends_to_the_login(page, web: Server) -> None:
    for path in ("/", "/queue", "/samples", "/samples/B-1", "/rounds", "/rounds/1", "/campaign",
                 "/record/synthesis", "/record/xrd?mode=file", "/users", "/campaign/discovery.png"):
        page.goto(path)
        assert "/login?next=" in page.url, path
        assert page.locator("#password").count() == 1
    log_in(page, "ada")  # an admin may go on; the tablet layout keeps the nav usable
    page.set_viewport_size({"width": 600, "height": 900})
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.goto("/queue")
    assert "/login" in page.url
