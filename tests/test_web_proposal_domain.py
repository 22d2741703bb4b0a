"""Issue 17: the queue page and the API's proposals show whether each proposal lies in the
training domain of its round (the reason on hover) and its objective predictions
(migrations 0004 and 0005), against a real ``nasicon web``."""

from __future__ import annotations

import html
import re

import pytest
from registry_fixtures import add, proposals
from web_server import PASSWORD, Server, seed, start

from nasicon.accounts import add_user
from registry import Registry

LI_NZSP = "Li3Zr2Si2PO12"
REASON = "Li on the Na site: no training composition has Li"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("web_domain")
    url = f"sqlite:///{folder / 'lab.db'}"
    seed(url)  # two round-1 proposals stored without domain and objectives
    item = proposals(LI_NZSP)[0] | {
        "in_domain": False, "domain_reason": REASON, "p_forms": 0.71, "p_forms_sd": 0.12,
        "log10_sigma_s_cm": -3.5, "log10_sigma_sd": 0.4, "objective": "both",
        "signal": "labels",
    }  # fmt: skip
    inside = proposals("Na3.2Zr2Si2.2P0.8O12")[0] | {"in_domain": True, "p_forms": 0.9}
    with Registry.from_url(url) as registry:
        add(registry, 2, [item, inside])
        # one user, added in-process: a viewer reads all of it
        _, token = add_user(registry, "val", "viewer", PASSWORD, created_by="test")
    server = start(folder, url)
    server.tokens = {"val": token}
    yield server
    server.stop()


def test_the_api_sends_domain_and_objectives(web: Server) -> None:
    queue = web.client(web.tokens["val"]).get("/api/v1/queue").json()
    out = next(p for p in queue if p["formula"] == LI_NZSP)
    assert out["in_domain"] is False and out["domain_reason"] == REASON
    assert (out["p_forms"], out["p_forms_sd"]) == (0.71, 0.12)
    assert (out["log10_sigma_s_cm"], out["log10_sigma_sd"]) == (-3.5, 0.4)
    assert out["predicted_sigma_s_cm"] == pytest.approx(10**-3.5)
    assert (out["objective"], out["signal"]) == ("both", "labels")
    older = [p for p in queue if p["round"] == 1]  # stored without them: null, not missing
    assert older and all(p["in_domain"] is None and p["p_forms"] is None for p in older)


def test_the_queue_page_marks_a_proposal_outside_the_domain_with_its_reason(
    web: Server,
) -> None:
    page = web.login("val").get("/queue").text
    row = re.search(r'<tr id="proposal-(\d+)"[^>]*>(?:(?!</tr>).)*' + re.escape(LI_NZSP)
                    + r"(?:(?!</tr>).)*</tr>", page, re.S).group(0)  # fmt: skip
    cell = re.search(r'<td class="domain"[^>]*>.*?</td>', row, re.S).group(0)
    assert 'data-in-domain="false"' in cell and "outside" in cell
    assert f'title="{html.escape(REASON, quote=True)}"' in cell
    assert "0.71" in row and "± 0.12" in row  # P(forms) and its spread
    assert "3.16e-04" in row and "± 0.40 in log10" in row  # 10**-3.5 S/cm
    assert "objective both" in row
    assert ">domain</th>" in page and ">P(forms)</th>" in page
    inside = re.search(r'<td class="domain" data-in-domain="true"[^>]*>inside', page)
    assert inside is not None
