"""The HTML Gantt chart in a real browser (issue 20): Debian's Chromium, headless, driven by Playwright:
no console error, no request leaves the page (it must work offline), every replica drawn as a bar with
its tooltip, lanes labelled with node and network, a legend of levels; a screenshot to look at."""

from __future__ import annotations

from pathlib import Path

from scheduler.engine.planner import PlanOptions, plan_problem
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.pictures import gantt
from scheduler.problem import Problem

from .conftest import EXAMPLES, POLICIES


def _open(browser, page_path: Path, screenshot: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(screenshot), full_page=True)
    return page, errors, requests


def test_the_html_gantt_in_headless_chromium(browser, tmp_path: Path) -> None:
    wl, pool, pol = (load_workload(EXAMPLES / "llm-finetune.yaml"), load_nodes(EXAMPLES / "pool-60.yaml"),
                     load_policy(POLICIES / "default.yaml"))
    problem = Problem(wl, pool, pol)
    plan = plan_problem(problem, PlanOptions(time_limit_s=2, engine="heuristic"))
    html = gantt(plan, problem, tmp_path / "plan.html")
    page, errors, requests = _open(browser, html, tmp_path / "plan.png")
    assert errors == []
    assert requests == [html.as_uri()]  # the page alone: no font, script or image fetched
    bars = page.locator("rect.bar")
    assert bars.count() == len(plan.assignments)
    drawn = {(bars.nth(k).get_attribute("data-task"), bars.nth(k).get_attribute("data-node"))
             for k in range(bars.count())}
    assert drawn == {(a.task, a.node) for a in plan.assignments}
    assert all(box["width"] > 0 and box["height"] > 0 for box in (bars.nth(k).bounding_box() for k in range(5)))
    tip = bars.first.locator("title").text_content()
    assert " on " in tip and "level " in tip
    lanes = page.locator("svg > text").all_text_contents()
    for node in {a.node for a in plan.assignments}:
        network = pool.by_id[node].network
        assert any(node in lane and network in lane for lane in lanes), node
    legend = page.locator("span.key").all_text_contents()
    assert legend == [lv.name for lv in pol.levels]
    key = page.locator("p").first.text_content()
    assert "extra replicas" in key and "deadline" not in key and "moved" not in key  # only what is drawn
    assert (tmp_path / "plan.png").stat().st_size > 20_000
