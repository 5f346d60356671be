"""WebDriver harness for the real Parchi desktop window.

One app session per test module: tauri-driver (with Debian's WebKitWebDriver) launches the built
`parchi-desktop` binary on a fresh data directory, and the tests drive it with the keyboard, the
way a clerk would. Run under Xvfb (see scripts/test-desktop).

Environment:
  PARCHI_DESKTOP_BIN  the app binary (default: $CARGO_TARGET_DIR/debug/parchi-desktop)
  PARCHI_BIN          the `parchi` CLI binary, for the hub (default: next to the app)
  PARCHI_SCREENS      where screenshots go (default: tests/desktop/out/screens)

A test module may set `MIRROR_CSV` (the CSV of `parchi mirror import`): its counter then starts
with that copy of the hospital's patient index. A module that sets `FRESH = True` gets an empty
data directory instead, as on a PC where the package was just installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def open_window(port: int, app: Path, attempts: int = 20) -> webdriver.Remote:
    """A WebDriver session on the app, through the tauri-driver listening on `port`."""
    wait_port(port)
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": str(app)})
    for attempt in range(attempts):
        # tauri-driver answers before WebKitWebDriver behind it does.
        try:
            return webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


class Counter:
    """The app window, with helpers that act like a clerk at the keyboard."""

    def __init__(self, driver: webdriver.Remote, data: Path, screens: Path):
        self.d = driver
        self.data = data
        self.screens = screens

    # -- finding --------------------------------------------------------------------------
    def el(self, css: str):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def els(self, css: str):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def wait(self, cond, timeout: float = 10.0, what: str = ""):
        # Screens redraw as data arrives: an element found a moment ago may be gone.
        return WebDriverWait(
            self.d, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        ).until(lambda d: cond(), message=what)

    def wait_el(self, css: str, timeout: float = 10.0):
        def found():
            e = self.els(css)
            return e[0] if e and e[0].is_displayed() else None

        return self.wait(found, timeout, f"no visible {css}")

    def text(self, css: str) -> str:
        for _ in range(5):
            try:
                return self.el(css).text
            except StaleElementReferenceException:
                time.sleep(0.1)
        return self.el(css).text

    def click(self, css: str, timeout: float = 10.0) -> None:
        def clicked():
            self.wait_el(css, timeout).click()
            return True

        self.wait(clicked, timeout, f"cannot click {css}")

    def active_id(self) -> str:
        return self.d.switch_to.active_element.get_attribute("id") or ""

    def wait_focus(self, element_id: str, timeout: float = 5.0) -> None:
        self.wait(lambda: self.active_id() == element_id, timeout, f"focus never reached #{element_id} (at #{self.active_id()})")

    # -- the keyboard ---------------------------------------------------------------------
    def keys(self, *keys: str) -> None:
        """Types into whatever has focus, like a clerk (no clicking)."""
        ActionChains(self.d).send_keys(*keys).perform()

    def chord(self, modifier: str, key: str) -> None:
        ActionChains(self.d).key_down(modifier).send_keys(key).key_up(modifier).perform()

    # -- evidence -------------------------------------------------------------------------
    def shot(self, name: str) -> Path:
        self.screens.mkdir(parents=True, exist_ok=True)
        path = self.screens / f"{name}.png"
        self.d.save_screenshot(str(path))
        return path


@pytest.fixture(scope="session")
def paths():
    app = Path(os.environ.get("PARCHI_DESKTOP_BIN", TARGET / "debug" / "parchi-desktop"))
    cli = Path(os.environ.get("PARCHI_BIN", app.parent / "parchi"))
    screens = Path(os.environ.get("PARCHI_SCREENS", ROOT / "tests" / "desktop" / "out" / "screens"))
    for b in (app, cli):
        if not b.exists():
            raise RuntimeError(f"build it first: {b} does not exist")
    return {"app": app.resolve(), "cli": cli, "screens": screens}


@pytest.fixture(scope="module")
def counter(paths, request):
    tmp = Path(tempfile.mkdtemp(prefix="parchi-desktop-e2e-"))
    data = tmp / "data"
    if not getattr(request.module, "FRESH", False):
        # A counter set up by the admin's CLI on a hospital whose departments run every day, so
        # the tests do not depend on the weekday. (The first-run setup has its own module.)
        subprocess.run(
            [str(paths["cli"]), "--data", str(data), "init", "--config", str(HERE / "hospital-e2e.toml"),
             "--counter", "A"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    mirror = getattr(request.module, "MIRROR_CSV", None)
    if mirror:
        # The counter's copy of the hospital's index, as a standalone counter imports it.
        csv = tmp / "hospital-index.csv"
        csv.write_text(mirror)
        subprocess.run([str(paths["cli"]), "--data", str(data), "mirror", "import", str(csv)],
                       check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ)
    env["PARCHI_DATA"] = str(data)
    env["PARCHI_SYNC_INTERVAL_SECS"] = "2"
    port = free_port()
    driver_proc = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "tauri-driver.log", "wb"),
    )
    try:
        launched = time.monotonic()
        driver = open_window(port, paths["app"])
        try:
            c = Counter(driver, data, paths["screens"])
            c.launched = launched
            c.tmp = tmp
            c.cli = paths["cli"]
            yield c
        finally:
            driver.quit()
    finally:
        driver_proc.terminate()
        try:
            driver_proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
        if os.environ.get("PARCHI_KEEP_E2E") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, saves what the window showed (tests/desktop/out/screens/FAILED-<test>.png)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        c = item.funcargs.get("counter")
        if c is not None:
            try:
                c.shot(f"FAILED-{item.name}")
            except Exception:
                pass
