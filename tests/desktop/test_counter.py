"""The counter clerk's day, driven through the real window with the keyboard.

The tests run in order on one app session (a fresh data directory): the first admin is created,
a clerk is added, the clerk logs in, registers a patient with the keyboard alone, finds them again
by a misspelt name, starts a revisit, prints a slip to the CUPS PDF printer, reprints and cancels;
the admin screens are opened; the sync state shows offline, then online once a hub starts.
Each screen is saved as a screenshot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from selenium.common.exceptions import StaleElementReferenceException
from pathlib import Path

from selenium.webdriver.common.keys import Keys

ENTER = Keys.ENTER
ADMIN = ("admin", "correct horse 7")
CLERK = ("asha", "4321")
PDF_OUT = Path(os.environ.get("PARCHI_PDF_OUT", "/var/spool/cups-pdf/out"))


def login(c, user: str, secret: str) -> None:
    c.wait_el("#login-user")
    c.wait_focus("login-user")
    c.keys(user, ENTER)
    c.wait_focus("login-secret")
    c.keys(secret, ENTER)


def logout(c) -> None:
    c.click("#logout")
    c.wait_el("#login-user")


def test_a_fresh_counter_offers_to_create_the_first_admin(counter):
    c = counter
    c.wait_el("#login-form", timeout=30)
    assert "first admin" in c.text("h1").lower()
    c.shot("01-first-admin")
    login(c, *ADMIN)
    c.wait_el("#register-form")
    c.wait_focus("f-name")
    assert "admin" in c.text("#user-name")


def test_the_admin_adds_a_clerk(counter):
    c = counter
    c.keys(Keys.F9)
    c.click("#admin-tab-users")
    c.wait_el("#user-name-new").send_keys(CLERK[0])
    c.el("#user-secret-new").send_keys(CLERK[1], ENTER)
    c.wait(lambda: CLERK[0] in c.text("#users-table"), what="clerk not listed")
    c.shot("10-admin-users")
    logout(c)


def test_a_wrong_pin_is_refused_and_the_clerk_logs_in(counter):
    c = counter
    login(c, CLERK[0], "9999")
    c.wait(lambda: c.text("#login-error") != "", what="no login error")
    assert "wrong" in c.text("#login-error").lower()
    assert c.active_id() == "login-secret"
    c.shot("02-login")
    c.keys(CLERK[1], ENTER)
    c.wait_el("#register-form")
    c.wait_focus("f-name")
    assert "asha" in c.text("#user-name")


def test_register_a_patient_with_the_keyboard_alone(counter):
    c = counter
    c.wait_focus("f-name")
    c.keys("Sunita Devi", ENTER)
    c.wait_focus("f-sex")
    c.keys("f")  # M/F/O picks and moves on
    c.wait_focus("f-age")
    c.keys("34", ENTER)
    c.wait_focus("f-dob")
    c.keys(ENTER)  # no date of birth: the age is enough
    c.wait_focus("f-guardian_relation")
    c.keys("w", ENTER)
    c.wait_focus("f-guardian_name")
    c.keys("Ramesh Kumar", ENTER)
    c.wait_focus("f-mobile")
    # The message next to the field appears as the clerk types, and goes when it is right.
    c.keys("98765")
    c.wait(lambda: "10 digits" in c.text("#msg-mobile"), what="no mobile message while typing")
    c.shot("04-register-validation")
    c.keys("43210")
    c.wait(lambda: c.text("#msg-mobile") == "", what="mobile message stayed")
    c.keys(ENTER)
    c.wait_focus("f-address")
    c.keys("Ward 12, Kankarbagh", ENTER, "Patna", ENTER, "Bihar", ENTER, "800020", ENTER)
    c.wait_focus("f-uhid")
    c.keys(ENTER)  # no hospital card
    c.wait_focus("f-abha")
    c.keys(ENTER)
    c.wait_focus("f-aadhaar")
    c.keys(ENTER)
    c.wait_focus("f-category")
    c.keys(ENTER)  # general, the default
    c.wait_focus("department")
    c.keys("1")
    assert c.el("#department").get_attribute("data-value") == "MED"
    c.shot("03-register-filled")
    c.keys(ENTER)
    c.wait_focus("register-submit")
    c.keys(ENTER)
    c.wait_el("#token-number")
    token = c.text("#token-number")
    assert re.fullmatch(r"A-\d+", token), token
    assert "General Medicine" in c.text("#token-dept")
    assert c.text("#token-patient") == "Sunita Devi"
    assert c.text("#token-fee").startswith("Rs 10")
    c.wait_focus("print")
    c.wait(lambda: preview_size(c)[0] > 0, timeout=15, what="the slip preview never loaded")
    # The preview is the slip parchi-slip draws (its SVG keeps each printed line as text): this
    # visit's token and patient, and no DUPLICATE band before the original has printed.
    svg = preview_svg(c, token)
    assert f">{token}</text>" in svg and ">Sunita Devi</text>" in svg, svg[:200]
    assert "DUPLICATE" not in svg
    c.shot("05-token")
    c.first_token = token


def test_print_the_slip_to_the_cups_pdf_printer(counter):
    c = counter
    before = set(PDF_OUT.glob("*.pdf")) if PDF_OUT.exists() else set()
    c.wait_focus("print")
    c.keys(ENTER)
    c.wait(lambda: c.text("#notice") != "", timeout=20, what="no print notice")
    assert "sent to the printer PDF" in c.text("#notice"), c.text("#notice")

    def arrived():
        now = set(PDF_OUT.glob("*.pdf")) if PDF_OUT.exists() else set()
        new = [p for p in now - before if p.stat().st_size > 0]
        return new or None

    new = c.wait(arrived, timeout=30, what=f"no PDF arrived in {PDF_OUT}")
    assert new[0].read_bytes().startswith(b"%PDF")
    # The printed page carries this patient's ID as a barcode and a QR code that a scanner reads.
    # (cups-pdf redraws the page through Ghostscript, which drops the text layer, so the page is
    # read the way a scanner at the next desk would: rendered, then decoded.)
    patient_id = c.text("#token-temp-id").replace("-", "")
    codes = c.wait(lambda: scanned_codes(new[0], c.tmp) or None, timeout=15, what=f"no codes in {new[0]}")
    assert f"CODE-128:{patient_id}" in codes, codes
    assert any(code.startswith(f"QR-Code:PARCHI:1:{patient_id}:") for code in codes), codes
    # The preview is the rendered slip (an image that loaded, as tall as a slip), and the
    # original cannot be printed twice.
    assert c.el("#slip-preview").tag_name == "img"
    size = preview_size(c)
    assert size[0] > 200 and size[1] > size[0], f"the slip preview did not load: {size}"
    assert not c.el("#print").is_enabled()
    assert c.active_id() == "next-patient"
    c.shot("06-slip-printed")


def preview_size(c) -> list[int]:
    """The slip preview image's size in pixels; [0, 0] until it has loaded."""
    return c.d.execute_script(
        "const i = document.querySelector('img#slip-preview');"
        "return i && i.complete ? [i.naturalWidth, i.naturalHeight] : [0, 0];")


def preview_svg(c, token: str) -> str:
    """The SVG the token screen's preview loads for today's visit `token`, asked of the shell
    with the screen's own command (the window's CSP keeps a page from reading the image's blob)."""
    return c.d.execute_async_script(
        "const [token, done] = arguments;"
        "const invoke = window.__TAURI__.core.invoke;"
        "invoke('todays_visits')"
        "  .then((vs) => vs.find((v) => v.visit.token === token))"
        "  .then((v) => (v ? invoke('slip_preview', { visit: v.visit.id }) : ''))"
        "  .then(done, (e) => done('error: ' + JSON.stringify(e)));", token)


def scanned_codes(pdf: Path, tmp: Path) -> list[str]:
    """What zbar reads from the PDF's first page rendered at 200 dpi ([] while still being written)."""
    prefix = tmp / pdf.stem
    if subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf), str(prefix)],
                      capture_output=True).returncode != 0:
        return []
    pngs = sorted(tmp.glob(f"{pdf.stem}*.png"))
    if not pngs:
        return []
    out = subprocess.run(["zbarimg", "-q", str(pngs[0])], capture_output=True, text=True)
    return out.stdout.split()


def test_find_them_again_by_a_misspelt_name_and_start_a_revisit(counter):
    c = counter
    c.keys(Keys.F3)
    c.wait_focus("search")
    c.keys("Suneeta Devi")
    c.wait(lambda: any("Sunita Devi" in e.text for e in c.els("#results .hit")), what="not found by a misspelt name")
    first = c.el("#results .hit.selected").text
    assert "Sunita Devi" in first and "34Y / F" in first and "W/o Ramesh Kumar" in first
    c.shot("07-search-misspelt")
    c.keys(ENTER)
    c.wait_el("#visit-start")
    c.wait_focus("visit-department")
    c.shot("08-revisit-department")
    c.keys("2", ENTER)
    # Tokens run per department, so the revisit's token is told apart by its department.
    c.wait(lambda: c.els("#token-dept") and "General Surgery" in c.text("#token-dept"), what="no new token")
    assert re.fullmatch(r"A-\d+", c.text("#token-number"))
    assert c.text("#token-patient") == "Sunita Devi"
    c.second_token = c.text("#token-number")


def test_reprint_is_recorded_and_cancel_needs_a_reason(counter):
    c = counter
    c.wait_el("#token-number")
    assert "DUPLICATE" not in preview_svg(c, c.text("#token-number")), "a fresh visit's slip marked DUPLICATE"
    c.keys("r")
    c.wait(lambda: "Reprint 1 recorded" in c.text("#notice"), timeout=20, what="reprint not recorded")
    assert "sent to the printer PDF" in c.text("#notice"), c.text("#notice")
    # The preview now shows the copy the next print makes: marked DUPLICATE.
    assert "DUPLICATE" in preview_svg(c, c.text("#token-number")), "the next copy is not marked DUPLICATE"
    c.keys("c")
    c.wait_focus("cancel-reason")
    c.keys("Wrong department", ENTER)
    c.wait_el("#cancelled-stamp")
    c.shot("09-cancelled")


def test_todays_list_shows_both_visits(counter):
    c = counter
    c.keys(Keys.F4)
    c.wait_el("#today-table")
    rows = c.els("#today-table tbody tr")
    assert len(rows) == 2
    text = c.text("#today-table")
    assert c.first_token in text and c.second_token in text
    assert "General Medicine" in text and "General Surgery" in text
    assert "CANCELLED" in text and "1 reprints" in text
    c.shot("11-today")
    c.keys(ENTER)  # opens the newest visit
    c.wait_el("#token-number")
    assert c.text("#token-number") == c.second_token
    assert "General Surgery" in c.text("#token-dept")


def test_quick_registration_needs_only_sex_age_and_department(counter):
    c = counter
    c.keys(Keys.F2)
    c.wait_focus("f-name")
    c.keys(Keys.F8)
    c.wait(lambda: "quick" in (c.el("#register-form").get_attribute("class") or ""), what="quick mode off")
    c.wait_el("#quick-help")
    assert not c.el("#f-address").is_displayed()
    c.keys(ENTER)  # no name: an unknown patient
    c.wait_focus("f-sex")
    c.keys("m")
    c.keys("40", ENTER)
    c.shot("12-quick-registration")
    c.chord(Keys.CONTROL, ENTER)
    c.wait_el("#token-number")
    assert c.text("#token-patient") == "Unknown Male"
    c.keys(Keys.F2)
    c.wait_focus("f-name")
    c.keys(Keys.F8)  # back to the full form
    c.wait(lambda: "quick" not in (c.el("#register-form").get_attribute("class") or ""), what="quick mode stuck")


def test_server_validation_names_the_field(counter):
    c = counter
    c.wait_focus("f-name")
    c.keys("Ram 2", ENTER, "m", "300", ENTER)
    c.chord(Keys.CONTROL, ENTER)
    c.wait(lambda: c.text("#msg-name") != "" and c.text("#msg-age") != "", what="no field messages")
    assert "digits" in c.text("#msg-name")
    assert "120" in c.text("#msg-age")
    assert c.active_id() == "f-name"
    c.click("#register-clear")
    c.wait_focus("f-name")


ABHA_QR = (
    '{"hidn":"91-5110-2378-1467","hid":"kavita.singh@abdm","name":"Kavita Singh","gender":"F",'
    '"statelgd":"10","distlgd":"230","dob":"7/3/1990","state name":"BIHAR","district_name":"PATNA",'
    '"mobile":"9123456780","address":"Boring Road"}'
)


def test_an_abha_card_scanned_into_the_form_fills_it(counter):
    c = counter
    c.wait_focus("f-name")
    # A 2D scanner in keyboard mode types the QR payload into whatever field has focus.
    c.keys(ABHA_QR, ENTER)
    value = lambda css: c.el(css).get_attribute("value")  # noqa: E731
    c.wait(lambda: value("#f-name") == "Kavita Singh", what="name not filled from the QR")
    assert c.el("#f-sex").get_attribute("data-value") == "F"
    assert value("#f-dob") == "1990-03-07" and value("#f-age") == ""
    assert value("#f-abha") == "91-5110-2378-1467"
    assert value("#f-mobile") == "9123456780"
    assert value("#f-district") == "PATNA" and value("#f-state") == "BIHAR"
    assert "ABHA card" in c.text("#notice")
    c.shot("13-abha-scanned")
    c.click("#register-clear")
    c.wait_focus("f-name")


def test_labels_switch_to_hindi_and_back(counter):
    c = counter
    c.click("#lang-switch")
    c.wait(lambda: "पंजीकरण" in c.text("#tab-register"), what="no Hindi labels")
    assert "मरीज़ का नाम" in c.text("#register-form")
    c.shot("14-hindi")
    c.click("#lang-switch")
    c.wait(lambda: "Register" in c.text("#tab-register"), what="no English labels")


def test_admin_screens(counter):
    c = counter
    logout(c)
    login(c, *ADMIN)
    c.wait_el("#register-form")
    # The same person registered twice (another counter, while offline): a likely duplicate.
    c.wait_focus("f-name")
    c.keys("Sunita Devee", ENTER, "f", "35", ENTER, ENTER, ENTER, ENTER, "9876543210", ENTER)
    c.chord(Keys.CONTROL, ENTER)
    c.wait_el("#token-number")
    c.keys(Keys.F9)
    c.wait_el("#counters-table")
    c.shot("15-admin-counters")
    c.chord(Keys.ALT, "2")
    c.wait_el("#report table")
    assert "General Medicine" in c.text("#report")
    c.shot("16-admin-report")
    c.chord(Keys.ALT, "3")
    c.wait_el("#settings-form")
    c.shot("17-admin-settings")
    c.chord(Keys.ALT, "5")
    c.wait_el("#dup-a")
    assert "Sunita" in c.text("#dup-a") and "Sunita" in c.text("#dup-b")
    # Side by side: both records, with what differs marked.
    assert "35Y / F" in c.text("#dup-b") or "35Y / F" in c.text("#dup-a")
    assert "34Y / F" in c.text("#dup-b") or "34Y / F" in c.text("#dup-a")
    assert "9876543210" in c.text("#dup-a") and "9876543210" in c.text("#dup-b")
    assert c.els(".side .kv.diff"), "the differing age is not marked"
    assert "mobile" in c.text(".dup-why").lower()
    c.shot("18-admin-duplicates")
    # Before the merge, the shared mobile finds two records; after it, one person.
    assert len(search_hits(c, "9876543210")) == 2
    c.keys(Keys.F9)
    c.chord(Keys.ALT, "5")
    c.click("#dup-merge")
    c.wait(lambda: "Merged" in c.text("#notice"), what="merge not confirmed")
    c.wait_el("#no-duplicates")
    hits = search_hits(c, "9876543210")
    assert len(hits) == 1 and "Sunita" in hits[0], hits
    c.keys(Keys.F9)
    c.chord(Keys.ALT, "6")
    c.wait_el("#no-conflicts")


def search_hits(c, query: str) -> list[str]:
    """What the search box lists for a query, as the clerk reads it."""
    c.keys(Keys.F3)
    c.wait_focus("search")
    c.el("#search").clear()
    c.keys(query)
    c.wait(lambda: c.els("#results .hit"), what=f"no results for {query}")
    time.sleep(0.3)  # let a late keystroke's results land
    hits = [e.text for e in c.els("#results .hit")]
    c.keys(Keys.ESCAPE)
    return hits


def sync_state(c) -> tuple[str, str, str]:
    # The status bar redraws as each round lands: read it again if it was replaced mid-read.
    for _ in range(50):
        try:
            return (c.el("#sync-state").get_attribute("data-online"), c.text("#sync-label"), c.text("#sync-detail"))
        except StaleElementReferenceException:
            time.sleep(0.05)
    return (c.el("#sync-state").get_attribute("data-online"), c.text("#sync-label"), c.text("#sync-detail"))


def start_hub(c, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(c.cli), "--data", str(c.tmp / "hub"), "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=open(c.tmp / "hub.log", "ab"),
    )
    from conftest import wait_port

    try:
        wait_port(port)
    except RuntimeError:
        proc.kill()
        raise AssertionError("the hub did not start: " + (c.tmp / "hub.log").read_text()[-800:])
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_sync_state_shows_offline_then_online_when_a_hub_starts(counter):
    c = counter
    from conftest import free_port

    port = free_port()
    c.hub_port = port
    url = f"http://127.0.0.1:{port}"
    # Not enrolled anywhere: the status bar says so.
    assert sync_state(c)[:2] == ("false", "No hub")
    hub = start_hub(c, port)
    try:
        out = subprocess.run(
            [str(c.cli), "--json", "hub", "enroll-code", "--hub", url, "--hub-data", str(c.tmp / "hub")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        code = json.loads(out)["code"]
        c.chord(Keys.ALT, "3")
        field = c.wait_el("#enroll-hub")
        field.clear()
        field.send_keys(url)
        c.el("#enroll-code").send_keys(code, ENTER)
        c.wait(lambda: "Enrolled" in c.text("#notice"), what="not enrolled")
        c.wait(lambda: sync_state(c)[0] == "true" and "all changes synced" in sync_state(c)[2],
               timeout=30, what=f"never online and synced: {sync_state(c)}")
    finally:
        stop(hub)
    # The hub goes away: the counter keeps registering, and says it is offline with changes waiting.
    c.keys(Keys.F2)
    c.wait_focus("f-name")
    c.keys("Meena Kumari", ENTER, "f", "52", ENTER)
    c.chord(Keys.CONTROL, ENTER)
    c.wait_el("#token-number")
    c.wait(lambda: sync_state(c)[0] == "false" and "waiting" in sync_state(c)[2], timeout=30,
           what=f"not offline with changes waiting: {sync_state(c)}")
    assert sync_state(c)[1] == "Offline"
    c.shot("19-sync-offline")
    # The hub starts again: the waiting changes go, and the counter is online.
    hub = start_hub(c, port)
    try:
        c.wait(lambda: sync_state(c)[0] == "true" and "all changes synced" in sync_state(c)[2],
               timeout=90, what=f"never back online: {sync_state(c)}")
        assert sync_state(c)[1] == "Online"
        c.shot("20-sync-online")
    finally:
        stop(hub)


def cli(c, data: Path, *args: str, stdin: str | None = None) -> dict | list:
    out = subprocess.run([str(c.cli), "--json", "--data", str(data), *args], check=True,
                         capture_output=True, text=True, input=stdin).stdout
    return json.loads(out)


def sync_now(c) -> None:
    """The admin's "Sync now" on the counters screen, until it reports all changes synced."""
    c.keys(Keys.F9)
    c.chord(Keys.ALT, "1")
    c.wait_el("#counters-table")
    c.click("#sync-now")
    c.wait(lambda: "Synced: 0 changes waiting" in c.text("#notice"), timeout=30,
           what=f"sync now did not reach the hub: {c.text('#notice')}")
    assert sync_state(c)[:2] == ("true", "Online")


def test_conflicting_corrections_from_two_counters_are_listed_with_both_values(counter):
    c = counter
    from conftest import HERE

    # The hub this counter enrolled at (in the test before), back for the admin's work.
    port = c.hub_port
    url = f"http://127.0.0.1:{port}"
    hub = start_hub(c, port)
    try:
        # The admin syncs now: Meena (registered while offline) goes to the hub.
        sync_now(c)
        # Two other counters (B and C) learn about her, then correct her mobile differently
        # without seeing each other.
        sites = {}
        for code in ("B", "C"):
            data = c.tmp / f"counter-{code}"
            subprocess.run([str(c.cli), "--data", str(data), "init", "--config", str(HERE / "hospital-e2e.toml"),
                            "--counter", code], check=True, stdout=subprocess.DEVNULL)
            enroll = subprocess.run(
                [str(c.cli), "--json", "hub", "enroll-code", "--hub", url, "--hub-data", str(c.tmp / "hub")],
                check=True, capture_output=True, text=True).stdout
            cli(c, data, "enroll", "--hub", url, "--code", json.loads(enroll)["code"])
            cli(c, data, "sync")
            sites[code] = data
        meena = cli(c, sites["B"], "search", "Meena Kumari")
        assert meena and meena[0]["name"] == "Meena Kumari", meena
        temp_id = meena[0]["temp_id"]
        # The mobile goes in on standard input, never on the command line.
        cli(c, sites["B"], "edit", temp_id, "--stdin", stdin="mobile=9000000001\n")
        cli(c, sites["C"], "edit", temp_id, "--stdin", stdin="mobile=9000000002\n")
        for code in ("B", "C"):
            cli(c, sites[code], "sync")
        # The app pulls both corrections; the admin sees both values and which was kept.
        sync_now(c)
        c.chord(Keys.ALT, "6")
        c.wait_el("#conflicts-table")
        row = c.text("#conflicts-table tbody")
        assert "Meena Kumari" in row and "mobile" in row, row
        assert "9000000001" in row and "9000000002" in row, row
        assert "kept" in row and "overwritten" in row, row
        c.shot("21-admin-conflicts")
    finally:
        stop(hub)
