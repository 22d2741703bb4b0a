"""The JSON API under /api/v1 (issue 16) against a real ``nasicon web``: bodies with the
CLI's field names, ``{"error": ...}`` answers with 401 / 403 / 4xx, nothing written by a
rejected request (row counts and the raw store compared), raw files analysed and kept by
SHA-256, ``recorded_by`` the token's user; and a round trip on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_fixtures import NZSP
from web_server import Server, eis_spectrum, launch, xrd_pattern


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    server = launch(tmp_path_factory.mktemp("web_api"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("raw_files")
    garbage = d / "scan.xy"
    garbage.write_text("sample A1, scanned on the D8\nno numbers in this file\n")
    return {"pattern": xrd_pattern(d / "a1.xy"), "spectrum": eis_spectrum(d / "a1.csv"),
            "garbage": garbage}  # fmt: skip


def test_without_a_valid_token_401(web: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer nsk_not-a-token"},
                    {"Authorization": "Basic YWRhOnB3"}, {"Authorization": "Bearer"}):
        response = web.client().get("/api/v1/queue", headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == {"error"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert web.client().get("/api/v1/openapi.json").status_code == 401
    assert web.client().get("/healthz").status_code == 200  # no login needed


def test_the_schema_documents_every_endpoint(web: Server) -> None:
    schema = web.client(web.tokens["val"]).get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/queue", "/api/v1/queue/{proposal_id}/claim",
                 "/api/v1/outcomes/synthesis", "/api/v1/outcomes/xrd",
                 "/api/v1/outcomes/conductivity", "/api/v1/samples/{sample_id}",
                 "/api/v1/rounds", "/healthz"):  # fmt: skip
        assert path in paths, path
    xrd = paths["/api/v1/outcomes/xrd"]["post"]["requestBody"]["content"]
    assert set(xrd) == {"application/json", "multipart/form-data"}
    assert xrd["multipart/form-data"]["schema"]["properties"]["pattern"]["format"] == "binary"
    synthesis = schema["components"]["schemas"]["SynthesisIn"]
    assert synthesis["additionalProperties"] is False
    assert {"sample", "formula", "succeeded", "calcination_c"} <= set(synthesis["properties"])


def test_claim_then_record_synthesis_as_the_tokens_user(web: Server) -> None:
    api = web.client(web.tokens["lab"])
    queue = api.get("/api/v1/queue").json()
    first = next(p for p in queue if p["formula"] == NZSP)
    claimed = api.post(f"/api/v1/queue/{first['id']}/claim", json={"hours": 2})
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "lab"
    again = web.client(web.tokens["ada"]).post(f"/api/v1/queue/{first['id']}/claim")
    assert again.status_code == 409 and "claimed" in again.json()["error"]
    stored = api.post("/api/v1/outcomes/synthesis", json={
        "sample": "A-1", "formula": NZSP, "succeeded": True, "calcination_c": 900,
        "calcination_h": 12})  # fmt: skip
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["recorded_by"] == "lab" and body["values"]["calcination_temperature_k"] == 1173.15
    assert body["proposals_updated"] == [first["id"]]
    history = api.get("/api/v1/samples/A-1").json()
    assert [r["recorded_by"] for r in history["records"]] == ["lab"]
    assert history["proposal"]["id"] == first["id"]
    assert [e["who"] for e in history["proposal_events"]][-2:] == ["lab", "lab"]


def test_an_xrd_pattern_and_a_spectrum_are_analysed_and_kept(web: Server, files) -> None:
    api = web.client(web.tokens["lab"])
    api.post("/api/v1/outcomes/synthesis", json={"sample": "A-2", "formula": NZSP,
                                                 "succeeded": True})  # fmt: skip
    with open(files["pattern"], "rb") as fh:
        xrd = api.post("/api/v1/outcomes/xrd", data={"sample": "A-2"},
                       files={"pattern": ("a2.xy", fh)})  # fmt: skip
    assert xrd.status_code == 201, xrd.text
    body = xrd.json()
    assert body["analysis"]["verdict"] == "phase_pure" and body["label"]["value"] == 1
    assert any(body["raw_sha256"] in f for f in web.stored_files())
    raw = web.login("val").get(f"/raw/{body['raw_sha256']}")  # downloadable by hash
    assert raw.status_code == 200 and raw.content == files["pattern"].read_bytes()
    with open(files["spectrum"], "rb") as fh:
        sigma = api.post("/api/v1/outcomes/conductivity",
                         data={"sample": "A-2", "thickness_mm": "1.5", "area_cm2": "0.8"},
                         files={"eis": ("a2.csv", fh)})  # fmt: skip
    assert sigma.status_code == 201, sigma.text
    total = sigma.json()["values"]["sigma_total_s_cm"]
    assert total == pytest.approx(0.15 / (1.5e5 * 0.8), rel=0.05)
    assert not any((web.cwd / "nasicon_data" / "uploads").glob("*/*"))  # nothing left behind


def _refused(web: Server, token: str, method: str, path: str, status: int, needle: str,
             **kw) -> None:  # fmt: skip
    with web.client(token) as api:
        response = api.request(method, path, **kw)
    assert response.status_code == status, (path, response.text)
    error = response.json()["error"]
    assert needle in error, error
    assert "\n" not in error


def test_rejected_requests_write_nothing(web: Server, files) -> None:
    lab, viewer = web.tokens["lab"], web.tokens["val"]
    before, stored = web.counts(), web.stored_files()
    cases = [
        (viewer, "POST", "/api/v1/outcomes/synthesis", 403, "val is a viewer",
         {"json": {"sample": "R-1", "formula": NZSP, "succeeded": True}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "a new sample needs --formula",
         {"json": {"sample": "R-1", "succeeded": True}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "recorded_by: Extra inputs",
         {"json": {"sample": "R-1", "formula": NZSP, "succeeded": True, "recorded_by": "x"}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "calcination",
         {"json": {"sample": "R-1", "formula": NZSP, "succeeded": True, "calcination_c": -500}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "sample",
         {"json": {"sample": "R\x00-1", "formula": NZSP, "succeeded": True}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "formula",
         {"json": {"sample": "R-1", "formula": "NotAFormula", "succeeded": True}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "proposal",
         {"json": {"sample": "R-1", "formula": NZSP, "succeeded": True, "proposal": 2**40}}),
        (lab, "POST", "/api/v1/outcomes/synthesis", 422, "not valid JSON",
         {"content": b"{", "headers": {"Content-Type": "application/json"}}),
        (lab, "POST", "/api/v1/outcomes/xrd", 404, "A-404",
         {"json": {"sample": "A-404", "phase": ["NASICON"]}}),
        (lab, "POST", "/api/v1/outcomes/xrd", 415, "text/plain",
         {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        (lab, "POST", "/api/v1/outcomes/conductivity", 422, "S/cm",
         {"json": {"sample": "A-1", "total": 50}}),
        (lab, "POST", "/api/v1/queue/999/claim", 404, "999", {}),
        (lab, "POST", "/api/v1/queue/1/reject", 422, "reason", {"json": {}}),
        (lab, "POST", "/api/v1/outcomes/synthesis/99999/retract", 404, "99999",
         {"json": {"reason": "typo"}}),
        (lab, "POST", "/api/v1/outcomes/spectra/1/retract", 422, "'spectra'",
         {"json": {"reason": "typo"}}),
        (lab, "GET", "/api/v1/samples/nope", 404, "nope", {}),
    ]  # fmt: skip
    for token, method, path, status, needle, kw in cases:
        _refused(web, token, method, path, status, needle, **kw)
    with open(files["garbage"], "rb") as fh:  # an unreadable pattern: nothing kept
        _refused(web, lab, "POST", "/api/v1/outcomes/xrd", 422, "scan.xy",
                 data={"sample": "A-1"}, files={"pattern": ("scan.xy", fh)})  # fmt: skip
    with open(files["pattern"], "rb") as fh:  # an unknown sample: the file is not kept
        _refused(web, lab, "POST", "/api/v1/outcomes/xrd", 404, "A-404",
                 data={"sample": "A-404"}, files={"pattern": ("a.xy", fh)})  # fmt: skip
    _refused(web, lab, "POST", "/api/v1/outcomes/xrd", 422, "--pattern",
             data={"sample": "A-1"}, files={"other": ("a.xy", b"1 2\n")})  # fmt: skip
    assert web.counts() == before
    assert web.stored_files() == stored
    assert not any((web.cwd / "nasicon_data" / "uploads").glob("*/*"))


@pytest.mark.postgres
def test_a_round_trip_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    server = launch(tmp_path, postgres_url)
    try:
        api = server.client(server.tokens["lab"])
        first = api.get("/api/v1/queue").json()[0]
        assert api.post(f"/api/v1/queue/{first['id']}/claim").status_code == 200
        stored = api.post("/api/v1/outcomes/synthesis",
                          json={"sample": "P-1", "formula": first["formula"], "succeeded": False})
        assert stored.status_code == 201, stored.text
        assert stored.json()["label"]["value"] == 0
        history = api.get("/api/v1/samples/P-1").json()
        assert history["records"][0]["recorded_by"] == "lab"
        assert history["proposal"]["id"] == first["id"]
        before = server.counts()
        refused = api.post("/api/v1/outcomes/synthesis",
                           json={"sample": "P-1", "formula": first["formula"], "succeeded": True})
        assert refused.status_code in (409, 422) and "P-1" in refused.json()["error"]
        assert server.counts() == before
    finally:
        server.stop()


def test_rounds_figures_and_campaign_progress_pages(web: Server) -> None:
    from registry import Registry

    with Registry.from_url(web.db_url) as registry:
        registry.run(lambda uow: uow.rounds.start(7, flow_run_id="flow-run-abc"))
        registry.run(lambda uow: uow.rounds.finish(7, None, 3, 2))
    folder = web.cwd / "reports" / "round-7"
    folder.mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\nfigure"
    (folder / "roc.png").write_bytes(png)
    (web.cwd / "reports" / "secret.png").write_bytes(b"not for the page")
    browser = web.login("val")
    rounds = browser.get("/rounds")
    assert rounds.status_code == 200 and "flow-run-abc" in rounds.text
    one = browser.get("/rounds/7")
    assert one.status_code == 200 and "/rounds/7/figures/roc.png" in one.text
    assert browser.get("/rounds/7/figures/roc.png").content == png
    for bad in ("..%2Fsecret.png", "secret.png", "roc.txt"):
        assert browser.get(f"/rounds/7/figures/{bad}").status_code == 404, bad
    assert browser.get("/rounds/8").status_code == 404
    listed = web.client(web.tokens["val"]).get("/api/v1/rounds").json()
    assert [(r["number"], r["flow_run_id"], r["n_proposals"]) for r in listed] == [
        (7, "flow-run-abc", 2)
    ]
    campaign = browser.get("/campaign")
    assert campaign.status_code == 200 and "bench experiments" in campaign.text
    curve = browser.get("/campaign/discovery.png")
    assert curve.status_code == 200 and curve.content.startswith(b"\x89PNG")
    assert browser.get("/raw/" + "0" * 64).status_code == 404
    assert browser.get("/raw/not-a-hash").status_code == 422


def _csrf(client, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_batch_upload_lists_every_bad_row_then_stores_all(web: Server, tmp_path: Path) -> None:
    browser = web.login("lab")
    token = _csrf(browser, "/record/batch")
    bad = ("sample_id,formula,succeeded,calcination_c\n"
           "BT-1,Na3Zr2Si2PO12,yes,900\nBT-2,NotAFormula,yes,900\nBT-3,Na3Zr2Si2PO12,maybe,\n")
    before = web.counts()
    refused = browser.post("/record/batch", data={"csrf_token": token},
                           files={"file": ("bench.csv", bad.encode())})  # fmt: skip
    assert refused.status_code == 422
    assert refused.text.count("<tr><td>") == 2  # lines 3 and 4, each with its problem
    assert "<td>3</td>" in refused.text and "<td>4</td>" in refused.text
    assert web.counts() == before
    good = "sample_id,formula,succeeded\nBT-1,Na3Zr2Si2PO12,yes\nBT-2,Na3Zr2Si2PO12,no\n"
    stored = browser.post("/record/batch", data={"csrf_token": token},
                          files={"file": ("bench.csv", good.encode())})  # fmt: skip
    assert stored.status_code == 200 and "Stored 2 records" in stored.text
    assert web.counts()["synthesis_records"] == before["synthesis_records"] + 2
    history = web.client(web.tokens["val"]).get("/api/v1/samples/BT-2").json()
    record_id = history["records"][0]["id"]
    no_reason = browser.post("/retract", data={"csrf_token": token, "kind": "synthesis",
                                               "record_id": record_id, "sample": "BT-2"})
    assert no_reason.status_code == 422 and "needs --reason" in no_reason.text
    done = browser.post("/retract", data={"csrf_token": token, "kind": "synthesis",
                                          "record_id": record_id, "sample": "BT-2",
                                          "reason": "wrong furnace"})  # fmt: skip
    assert done.status_code == 303
    records = web.client(web.tokens["val"]).get("/api/v1/samples/BT-2").json()["records"]
    assert [(r["status"], r["recorded_by"]) for r in records] == [
        ("retracted", "lab"), ("retraction", "lab")]
