"""The outage drill: a counter PC with Parchi installed and nothing configured, on the morning the
hospital system goes down. Launch, first-run setup from a department CSV, a test print, the first
admin, the first registration, and its slip out of the CUPS queue.

Every keystroke and click a person would make is recorded, and the person's time is estimated
from them with the keystroke-level model (Card, Moran and Newell: 0.28 s a keystroke for an
average typist, 1.1 s to point plus 0.1 s to click, 1.35 s to think before each step). The wall
time of the run and the estimate go to tests/desktop/out/drill.json; the goal is under 5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.file_detector import UselessFileDetector

FRESH = True
HERE = Path(__file__).resolve().parent
PDF_OUT = Path(os.environ.get("PARCHI_PDF_OUT", "/var/spool/cups-pdf/out"))
KEYSTROKE_S, POINT_CLICK_S, THINK_S = 0.28, 1.2, 1.35


class Person:
    """Acts on the window and counts what a person would do for it."""

    def __init__(self, c):
        self.c = c
        self.keystrokes = 0
        self.clicks = 0
        self.steps = 0

    def click(self, css: str) -> None:
        self.steps += 1
        self.clicks += 1
        self.c.click(css)

    def type_into(self, css: str, text: str) -> None:
        """Clicks a field and types into it."""
        self.click(css)
        self.c.el(css).send_keys(text)
        self.keystrokes += len(text)

    def keys(self, *keys: str) -> None:
        """Keys typed where the focus is (a named key such as Enter counts one)."""
        self.steps += 1
        self.keystrokes += sum(len(k) for k in keys)
        self.c.keys(*keys)

    def chord(self, modifier: str, key: str) -> None:
        self.steps += 1
        self.keystrokes += 2
        self.c.chord(modifier, key)

    def choose_file(self, css: str, path: Path) -> None:
        """The file dialog: open it, pick the file, confirm (three clicks)."""
        self.steps += 1
        self.clicks += 3
        # The window runs on this machine: send the path itself, not an upload (a Grid feature).
        self.c.d.file_detector = UselessFileDetector()
        self.c.el(css).send_keys(str(path))

    def seconds(self) -> float:
        return self.keystrokes * KEYSTROKE_S + self.clicks * POINT_CLICK_S + self.steps * THINK_S


def pdfs() -> set[Path]:
    return set(PDF_OUT.glob("*.pdf")) if PDF_OUT.exists() else set()


def scanned(pdf: Path, tmp: Path) -> list[str]:
    prefix = tmp / f"drill-{pdf.stem}"
    if subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf), str(prefix)],
                      capture_output=True).returncode != 0:
        return []
    pngs = sorted(tmp.glob(f"drill-{pdf.stem}*.png"))
    if not pngs:
        return []
    return subprocess.run(["zbarimg", "-q", str(pngs[0])], capture_output=True, text=True).stdout.split()


def new_pdf(c, before: set[Path], what: str) -> Path:
    def arrived():
        new = [p for p in pdfs() - before if p.stat().st_size > 0]
        return new[0] if new else None

    return c.wait(arrived, timeout=30, what=what)


def test_the_outage_drill_from_an_installed_package_to_the_first_slip(counter):
    c = counter
    p = Person(c)
    c.wait_el("#setup-form", timeout=30)
    assert "set up" in c.text("h1").lower()
    c.shot("20-setup-empty")

    # Finishing with nothing filled in names what is missing and sets nothing up (not a step of
    # the drill: a person would not).
    c.click("#setup-finish")
    c.wait(lambda: c.text("#msg-setup-hospital_name") != "", what="no message for the name")
    assert c.text("#msg-departments") != ""
    assert not (c.data / "parchi.db").exists()

    p.type_into("#setup-hospital_name", "Sadar Hospital, Gaya")
    p.type_into("#setup-hospital_name_local", "सदर अस्पताल, गया")
    p.choose_file("#setup-csv", HERE / "departments.csv")
    c.wait(lambda: len(c.els("#setup-departments tr")) == 7, what="the CSV's departments not in the table")
    assert c.el("#dept-0-code").get_attribute("value") == "MED"
    p.type_into("#setup-printer", "PDF")
    before = pdfs()
    p.click("#setup-test-print")
    c.wait(lambda: "PDF" in c.text("#setup-print-result") and "job" in c.text("#setup-print-result"),
           timeout=20, what="no test print result")
    test_slip = new_pdf(c, before, "the test slip did not come out")
    assert "CODE-128:TESTPRINT" in c.wait(lambda: scanned(test_slip, c.tmp) or None, timeout=15,
                                           what="no barcode on the test slip")
    c.shot("21-setup-filled")
    p.click("#setup-finish")

    # The first admin, then the register screen.
    c.wait_el("#login-form", timeout=20)
    assert "first admin" in c.text("h1").lower()
    c.wait_focus("login-user")
    p.keys("admin", Keys.ENTER)
    c.wait_focus("login-secret")
    p.keys("correct horse 7", Keys.ENTER)
    c.wait_el("#register-form")
    c.wait_focus("f-name")
    assert "Sadar Hospital, Gaya" in c.text("#frame-top")

    # The first registration: name, sex, age, department, register; then print.
    p.keys("Sunita Devi", Keys.ENTER)
    c.wait_focus("f-sex")
    p.keys("f")
    c.wait_focus("f-age")
    p.keys("34", Keys.ENTER)
    p.click("#department-MED")
    p.chord(Keys.CONTROL, Keys.ENTER)
    c.wait_el("#token-number")
    token = c.text("#token-number")
    assert re.fullmatch(r"A-\d+", token), token
    before = pdfs()
    c.wait_focus("print")
    p.keys(Keys.ENTER)
    slip = new_pdf(c, before, "the first slip did not come out")
    patient_id = c.text("#token-temp-id").replace("-", "")
    codes = c.wait(lambda: scanned(slip, c.tmp) or None, timeout=15, what="no barcode on the slip")
    assert f"CODE-128:{patient_id}" in codes, codes
    wall = time.monotonic() - c.launched
    c.shot("22-drill-first-slip")

    # What the setup wrote is a configuration the CLI reads, on this counter's own store.
    status = subprocess.run([str(c.cli), "--data", str(c.data), "status", "--json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(status.stdout)["counter"] == "A"

    figures = {
        "wall_seconds": round(wall, 1),
        "keystrokes": p.keystrokes,
        "clicks": p.clicks,
        "steps": p.steps,
        "person_seconds_klm": round(p.seconds(), 1),
        "model": {"keystroke_s": KEYSTROKE_S, "point_click_s": POINT_CLICK_S, "think_s": THINK_S},
    }
    out = Path(os.environ.get("PARCHI_SCREENS", HERE / "out" / "screens")).parent / "drill.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"outage drill: {figures}")
    assert p.seconds() < 300, figures
    assert wall < 300, figures
