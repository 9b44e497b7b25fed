"""What a `huunghi run` leaves on the Prefect server it reports to (issue 17), even with a quiet terminal:
its INFO logs, task runs named for what they are, tags, and the summary, quarantine and Data Docs
artifacts. Read back through the server's REST API, as the UI does."""

from __future__ import annotations

import re
import subprocess

import pytest

from huunghi.corpus import generate
from huunghi.quality.docs_offline import ASSETS_DIR, remote_assets
from tests.conftest import missing
from tests.prefect_server import BIN, REPO, api, prefect_server
from tests.test_prefect_ui import CHROMEDRIVER, CHROMIUM

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end (the module starts its own real server)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    work = tmp_path_factory.mktemp("record")
    corpus = generate(work / "corpus", 8, seed=71)
    (corpus / "broken.html").write_bytes(b"%PDF-1.7\n" + b"\x00" * 64)  # one input for the quarantine
    with prefect_server(work / "prefect") as (base, env):
        env.pop("PREFECT_LOGGING_LEVEL", None)  # as a user has it: the command alone decides what is logged
        command = [str(BIN / "huunghi"), "run", "-q", "--source", str(corpus), "--warehouse", str(work / "wh")]
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and done.stderr == ""  # quiet terminal
        rest = f"{base}/api"
        [run] = api("POST", f"{rest}/flow_runs/filter", json={}, timeout=10).json()
        filters = {"flow_runs": {"id": {"any_": [run["id"]]}}}
        tasks = api("POST", f"{rest}/task_runs/filter", json=filters, timeout=10).json()
        logs = api("POST", f"{rest}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 200},
                   timeout=10).json()  # fmt: skip
        artifacts = api("POST", f"{rest}/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}},
                        timeout=10).json()  # fmt: skip
        site = work / "wh" / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site"
        yield {"run": run, "tasks": tasks, "logs": logs, "artifacts": artifacts, "site": site, "base": base,
               "work": work}  # fmt: skip


def test_the_run_sends_its_info_logs_with_a_quiet_terminal(recorded):
    messages = [log["message"] for log in recorded["logs"] if log["level"] == 20]
    assert any("page files from" in m for m in messages)
    assert any(m.startswith("run ") and "completed" in m for m in messages)


def test_task_runs_are_named_for_what_they_are(recorded):
    names = {t["name"] for t in recorded["tasks"]}
    assert {"gate raw_pages", "gate cleaned", "gate pages", "clean batch 1/1", "enrich batch 1/1"} <= names
    assert not any(name.startswith(("quality gate-", "clean pages-")) for name in names)


def test_the_run_carries_tags(recorded):
    assert {"huunghi", "source:files", "gates:strict"} <= set(recorded["run"]["tags"])


def test_summary_quarantine_and_data_docs_artifacts(recorded):
    by_key = {a["key"]: a for a in recorded["artifacts"]}
    assert {"huunghi-run-summary", "huunghi-quarantine", "huunghi-data-docs"} <= set(by_key)
    assert "broken.html" in str(by_key["huunghi-quarantine"]["data"])
    assert "index.html" in str(by_key["huunghi-data-docs"]["data"])


def test_data_docs_load_nothing_from_the_network(recorded):
    """No style, script or image of any page comes from the network (offline is the normal case), and the
    local copies put in their place are there (GX's own relative links are GX's business)."""
    site = recorded["site"]
    assert remote_assets(site) == []
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        refs = re.findall(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["']([^"'#?]+)""", page.read_text("utf-8"))
        local = [ref for ref in refs if ASSETS_DIR in ref or ref.endswith("logo-long.png")]
        assert len(local) >= 10, page
        assert all((page.parent / ref).resolve().is_file() for ref in local), page


def test_the_run_page_in_a_browser(recorded):
    """The flow run page of a CLI run, as a user opens it in the Prefect UI (headless Chromium): its logs,
    its task runs by name, its artifacts. Screenshots of each tab are kept beside the test's files."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("Debian's chromium and chromium-driver are not installed (`make test` installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    work, url = recorded["work"], f"{recorded['base']}/runs/flow-run/{recorded['run']['id']}"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--window-size=1400,1000"]  # fmt: skip
    for flag in [*flags, f"--user-data-dir={work / 'chromium'}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    wait = WebDriverWait(browser, 60, poll_frequency=0.5)

    def shown(xpath: str):  # the first element on screen that the path finds (pages keep hidden copies)
        return wait.until(lambda d: next((e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()), False))

    def shows(text: str) -> None:  # the innermost element that says it, on screen
        shown(f"//*[contains(., '{text}') and not(*[contains(., '{text}')])]")

    def tab(name: str) -> None:  # the run page's tabs: <li id="task-runs">, <li id="artifacts">
        shown(f"//*[@role='tablist']/li[@id='{name}']").click()

    try:
        browser.get(url)
        shows("page files from")  # an INFO log line: the Logs tab opens first
        browser.save_screenshot(str(work / "run-logs.png"))
        tab("task-runs")
        shows("gate raw_pages")
        shows("clean batch 1/1")
        browser.save_screenshot(str(work / "run-task-runs.png"))
        tab("artifacts")
        shows("huunghi-quarantine")
        shows("huunghi-data-docs")
        browser.save_screenshot(str(work / "run-artifacts.png"))
    finally:
        browser.save_screenshot(str(work / "run-last.png"))
        browser.quit()
        print(f"screenshots: {work}/run-*.png")
    assert (work / "run-artifacts.png").stat().st_size > 10_000
