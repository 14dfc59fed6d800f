"""The explorer in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (no browser download). ``fundsim explore`` runs on a free port of 127.0.0.1; the test
moves a lever, reads the number shown (each cell's ``data-value``) against the exact method
computed here, saves the variant and checks it validates and reproduces the numbers, computes
the fans, types an invalid value and reads the file's message, and checks that ``<script>`` in the scenario's title
is shown as text, not run. A screenshot goes to ``reports/test-artifacts/explore.png``
(git-ignored). Without Chromium the test skips on a developer's machine and fails in CI (``CI``
set), where ``make test`` must have installed it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from simulation import load_scenario
from simulation.engine.exact import exact_claims_distribution, exact_contract_measures
from simulation.errors import ScenarioError
from simulation.explore.numbers import headline

ROOT = Path(__file__).parent.parent
BASE = ROOT / "tests" / "data" / "good" / "base.toml"
ARTIFACTS = ROOT / "reports" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1000",
)
XSS_TITLE = "Fixture <script>window.__fundsim_xss = 1</script> title"
LEVER = "funds.serious_illness.financing_per_head.needy"
LEVER_CLASS = "lever-funds-serious_illness-financing_per_head-needy"
PREMIUM_AT_85 = (1200 + 1000) * 60.0 + (1000 + 800) * 85.0  # base.toml's cells, by hand

# querySelector through every shadow root (Bokeh renders widgets in shadow DOM)
DEEP = """
const sel = arguments[0], all = arguments[1], out = [];
function walk(root) {
  for (const el of root.querySelectorAll(sel)) out.push(el);
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
}
walk(document);
return all ? out : (out[0] || null);
"""


def _browser_or_fail():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        why = f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(why + " (make test installs them)")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='fundsim-chromium-')}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, what: str, timeout: float = 90.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _cells(driver) -> dict[tuple[str, str, str], float]:
    rows = driver.execute_script(
        DEEP.replace("return all ? out : (out[0] || null);", "")
        + "return out.map(e => [e.dataset.fund, e.dataset.measure, e.dataset.which, "
        "e.dataset.value]);",
        "td[data-measure]",
        True,
    )
    return {(f, m, w): float(v) for f, m, w, v in rows if v}


def _text(driver, selector: str) -> str:
    found = driver.execute_script(DEEP, selector, False)
    return found.text if found is not None else ""


def _type(driver, lever_class: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    host = driver.execute_script(DEEP, f".{lever_class}", False)
    box = driver.execute_script(
        "const h = arguments[0]; return (h.shadowRoot || h).querySelector('input');", host
    )
    box.click()
    old = box.get_attribute("value") or ""
    box.send_keys(Keys.END, *([Keys.BACKSPACE] * len(old)), text, Keys.ENTER)


@pytest.mark.slow
def test_the_explorer_in_chromium(tmp_path):
    scenario = tmp_path / "base.toml"
    shutil.copy(BASE, scenario)
    text = scenario.read_text()
    scenario.write_text(
        text.replace(
            'title = "Test fixture: two layers, one capped-profit fund"', f'title = "{XSS_TITLE}"'
        )
    )
    variant = tmp_path / "explored.toml"
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "server.log"  # a file, not a pipe: a full pipe would stall the server
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulation.cli",
            "explore",
            str(scenario),
            "--port",
            str(port),
            "--variant",
            str(variant),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    driver = None
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait(lambda: url in log.read_text() or server.poll() is not None, "the server")
        assert server.poll() is None, log.read_text()
        driver = _browser_or_fail()
        driver.get(url)
        _wait(lambda: _cells(driver), "the numbers table")
        assert driver.execute_script("return window.__fundsim_xss === undefined")
        assert XSS_TITLE in _text(driver, "h2.fundsim-title-text")

        # move a lever: the numbers shown are the exact method's for that setting
        _type(driver, LEVER_CLASS, "85")
        key = ("serious_illness", "premium", "edited")
        cells = _wait(lambda: (c := _cells(driver)).get(key) == PREMIUM_AT_85 and c, "the update")
        s = load_scenario(BASE)
        dist = exact_claims_distribution(s, "serious_illness", s.start_year)
        want = exact_contract_measures(dist, PREMIUM_AT_85, s.funds["serious_illness"].contract)
        for measure in ("expected_claims", "expected_insurer_result_net", "expected_clawback"):
            shown = cells["serious_illness", measure, "edited"]
            assert shown == pytest.approx(want[measure], rel=1e-9), measure
        assert cells["serious_illness", "premium", "diff"] == (85 - 70) * (1000 + 800)

        # save as variant: a file that validates and reproduces the numbers shown
        save = driver.execute_script(DEEP, ".fundsim-save", False)
        driver.execute_script(
            "const h = arguments[0]; (h.shadowRoot || h).querySelector('button').click();", save
        )
        _wait(lambda: "saved" in _text(driver, ".fundsim-saved-path"), "the saved message")
        again = {n.fund: n.values for n in headline(load_scenario(variant))}
        for (fund, measure, which), value in cells.items():
            if which == "edited":
                assert again[fund][measure] == value, (fund, measure)
        assert f"{LEVER}: 70 -> 85" in variant.read_text()

        # the fans (the engine on a few paths), behind their button
        fans = driver.execute_script(DEEP, ".fundsim-compute-fans", False)
        driver.execute_script(
            "const h = arguments[0]; (h.shadowRoot || h).querySelector('button').click();", fans
        )
        method = _wait(lambda: _text(driver, ".fundsim-fans-method"), "the fans", timeout=300)
        assert method.startswith("engine, 32 paths")

        # an invalid value: the message a file with that value gets
        _type(driver, LEVER_CLASS, "-5")
        shown = _wait(lambda: _text(driver, ".fundsim-error-text"), "the error")
        bad = tmp_path / "bad.toml"
        bad.write_text(scenario.read_text().replace("needy = 70", "needy = -5"))
        with pytest.raises(ScenarioError) as info:
            load_scenario(bad)
        assert shown == str(info.value).replace(str(bad), str(scenario))
        assert "found -5" in shown
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "explore.png"))
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
