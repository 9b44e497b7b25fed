"""Tested as users use it: a real `prefect server` on 127.0.0.1, `huunghi serve` beside it, runs of the
deployment triggered as the UI's Quick run does — once through the REST API, once by clicking in headless
Chromium (Debian's chromium and chromedriver, driven by selenium; `make test` installs them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huunghi.corpus import generate
from huunghi.warehouse import store
from tests.conftest import missing
from tests.prefect_server import api, deployment, huunghi_serve, prefect_server, wait_final, wait_for

pytestmark = pytest.mark.usefixtures("prefect_server")  # end-to-end: a real Prefect API
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
QUICK_RUN = {"state": {"type": "SCHEDULED", "message": "Run from the Prefect UI with defaults"}}


def count(root: Path, sql: str) -> int:
    con = store.connect(root, read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("served")
    corpus = generate(work / "corpus", 40, seed=31)
    warehouse = work / "warehouse"
    with (
        prefect_server(work / "prefect") as (base, env),
        huunghi_serve(env, work / "serve.log", "--source", str(corpus), "--warehouse", str(warehouse)) as serving,
    ):
        yield {
            "base": base,
            "warehouse": warehouse,
            "work": work,
            "on_demand": deployment(base, "on-demand"),
            "serving": serving,
        }


def _artifacts(base: str, flow_run_id: str) -> list[dict]:
    found = api(
        "POST", f"{base}/api/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}, timeout=10
    )
    return found.json()


def test_deployments_are_served_with_schedule_and_a_typed_form(served):
    base = served["base"]
    daily = deployment(base, "daily")
    [schedule] = daily["schedules"]
    assert schedule["schedule"]["cron"] == "0 6 * * *" and schedule["schedule"]["timezone"] == "Asia/Ho_Chi_Minh"
    schema = daily["parameter_openapi_schema"]
    model = schema["definitions"]["RunSettings"]["properties"]
    for field in ("sources", "warehouse", "since", "dry_run", "gate_strictness", "batch_size"):
        assert model[field].get("description"), field
    assert model["gate_strictness"]["enum"] == ["strict", "lenient"] and model["batch_size"]["default"] == 2000
    assert daily["parameters"]["settings"]["warehouse"] == str(served["warehouse"])


def test_quick_run_through_the_rest_api(served):
    base, dep = served["base"], served["on_demand"]
    created = api("POST", f"{base}/api/deployments/{dep['id']}/create_flow_run", json=QUICK_RUN, timeout=10)
    assert created.status_code == 201, created.text
    run = wait_final(base, created.json()["id"], timeout=600)
    assert run["state"]["type"] == "COMPLETED", (served["work"] / "serve.log").read_text()[-3000:]
    root = served["warehouse"]
    assert count(root, "SELECT count(*) FROM runs WHERE flow_run_id = '" + run["id"] + "'") == 1
    assert count(root, "SELECT count(*) FROM pages") == 40 and count(root, "SELECT count(*) FROM articles") == 40
    [summary] = [a for a in _artifacts(base, run["id"]) if a["key"] == "huunghi-run-summary"]
    assert "**completed**" in summary["data"] and "| cleaned |" in summary["data"]
    docs = (root / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").read_text()
    assert run["id"] in docs


def test_quick_run_clicked_in_the_browser(served):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("Debian's chromium and chromium-driver are not installed (`make test` installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    base, dep, work = served["base"], served["on_demand"], served["work"]
    before = {r["id"] for r in _runs(base, dep["id"])}
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={work / 'chromium'}"):  # fmt: skip
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    shot = work / "quick-run.png"
    try:
        wait = WebDriverWait(browser, 60)
        browser.get(f"{base}/deployments/deployment/{dep['id']}")
        wait.until(ready.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Run']"))).click()
        wait.until(ready.element_to_be_clickable((By.XPATH, "//*[normalize-space()='Quick run']"))).click()
        new = wait_for(lambda: [r for r in _runs(base, dep["id"]) if r["id"] not in before], 60, "the clicked run")
        run_id = new[0]["id"]
        browser.get(f"{base}/runs/flow-run/{run_id}")
        # The run page's state badge: a text node that is exactly "Completed" (log lines say "…Completed()").
        badge = (By.XPATH, "//*[normalize-space(text())='Completed']")
        WebDriverWait(browser, 600, poll_frequency=2).until(ready.visibility_of_element_located(badge))
    finally:
        browser.save_screenshot(str(shot))
        browser.quit()
        print(f"screenshot: {shot}")
    assert wait_final(base, run_id, timeout=60)["state"]["type"] == "COMPLETED"
    assert shot.stat().st_size > 10_000


def _runs(base: str, deployment_id: str) -> list[dict]:
    found = api(
        "POST",
        f"{base}/api/flow_runs/filter",
        json={"deployments": {"id": {"any_": [deployment_id]}}, "sort": "START_TIME_DESC"},
        timeout=10,
    )
    return found.json()


def test_prefect_deploy_and_a_process_worker(tmp_path):
    """prefect.yaml as the README says: a process work pool, `prefect deploy --all`, a run of the deployed
    on-demand deployment picked up by `prefect worker start`. On a server of its own: the served
    deployments of the other tests keep their names and must not be taken over."""
    import subprocess
    import sys

    from tests.prefect_server import REPO

    prefect = str(Path(sys.executable).parent / "prefect")
    with prefect_server(tmp_path / "prefect") as (base, env):
        env.update(HUUNGHI_WAREHOUSE=str(tmp_path / "wh"), PWD=str(REPO))  # PWD: what prefect.yaml's pull step names

        def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
            done = subprocess.run([prefect, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            return done

        cli("work-pool", "create", "huunghi", "--type", "process", "--overwrite")
        assert cli("--no-prompt", "deploy", "--all").stdout.count("successfully created") == 2
        dep = deployment(base, "on-demand-pool")  # prefect.yaml's names: not those `huunghi serve` registers
        assert dep["work_pool_name"] == "huunghi"
        created = api("POST", f"{base}/api/deployments/{dep['id']}/create_flow_run", json=QUICK_RUN, timeout=10).json()
        worker = cli("worker", "start", "--pool", "huunghi", "--run-once", timeout=600)
        final = wait_final(base, created["id"], timeout=60)
        assert final["state"]["type"] == "COMPLETED", worker.stdout[-4000:] + worker.stderr[-4000:]
    assert count(tmp_path / "wh", "SELECT count(*) FROM articles") == 300  # the bundled corpus


def test_readme_walkthrough_commands_are_real():
    """Every `huunghi …` line of the README's walk-through parses with the real command line."""
    import re
    import shlex

    from huunghi.flows.cli import build_parser
    from tests.prefect_server import REPO

    readme = (REPO / "README.md").read_text("utf-8")
    section = readme[readme.index("## Run it from the Prefect UI") : readme.index("## Scale-out")]
    lines = [line.split("#")[0].strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)
             for line in block.splitlines()]  # fmt: skip
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("huunghi ")]
    assert [c[0] for c in commands] == ["serve"], "the walk-through serves the deployments"
    for command in commands:  # argparse exits (SystemExit) on an unknown option: each line must parse as written
        parsed = build_parser().parse_args(command)
        assert parsed.func.__name__ == f"cmd_{command[0]}"
        assert parsed.sources_file == "sources.toml"
    assert {"prefect server start", "prefect deploy --all", "prefect worker start --pool huunghi"} <= set(lines)
