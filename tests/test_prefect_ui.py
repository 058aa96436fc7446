"""The plan's artifacts as a person reads them in the Prefect UI (issue 20): a real `prefect server start`
(the test harness serves no UI), a flow run of `plan_placement` publishing them, and the artifact pages
opened in headless Chromium: the summary shows its bound and gap, the Gantt chart's inline PNG is drawn."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import EXAMPLES, POLICIES, ROOT

PUBLISH = """
import json, sys
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect_placement import plan_placement

@flow
def publish():
    plan_placement(sys.argv[1], sys.argv[2], sys.argv[3], time_limit_s=2, engine="heuristic", artifact_key="ui")

publish()
with get_client(sync_client=True) as client:
    arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ui-summary", "ui-gantt"])))
print(json.dumps({a.key: str(a.id) for a in arts}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = _free_port()
    home = tmp_path_factory.mktemp("prefect-ui-home")
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_UI_API_URL": api, "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    proc = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{api}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("the Prefect server did not start")
                time.sleep(1)
        yield f"http://127.0.0.1:{port}", env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def test_artifacts_render_in_the_prefect_ui(server, browser, tmp_path: Path) -> None:
    base, env = server
    done = subprocess.run([sys.executable, "-c", PUBLISH, str(EXAMPLES / "llm-finetune.yaml"),
                           str(EXAMPLES / "pool-60.yaml"), str(POLICIES / "default.yaml")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{base}/artifacts/artifact/{ids['ui-gantt']}", wait_until="networkidle", timeout=120_000)
    image = page.locator("img[src^='data:image/png;base64,']")
    image.wait_for(timeout=60_000)
    size = image.evaluate("e => [e.naturalWidth, e.naturalHeight, e.getBoundingClientRect().width]")
    page.screenshot(path=str(tmp_path / "gantt-artifact.png"))
    page.goto(f"{base}/artifacts/artifact/{ids['ui-summary']}", wait_until="networkidle", timeout=120_000)
    page.get_by_text("lower bound").wait_for(timeout=60_000)
    text = page.locator("body").inner_text()
    page.close()
    assert size[0] > 1000 and size[1] > 300 and size[2] > 300  # decoded and drawn, not a broken image
    assert "gap" in text and "makespan" in text and "Rules that shaped the plan" in text
