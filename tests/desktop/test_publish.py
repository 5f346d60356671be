"""One configuration for all counters, driven through the real window.

The admin opens Admin → Departments and fees, changes General Medicine's fee and adds Nephrology
in the table, effective today, and publishes: the core refuses a bad row and a past date at
their fields first, then takes it. The register screen's department picker offers Nephrology at
once with its fee and General Medicine at the new fee, and the "From today" notice lists both
changes. A second publication, for tomorrow, shows as coming without changing today's fees. A
clerk sees the notices but not the publishing table, and the shell refuses them its commands.
"""

from __future__ import annotations

import datetime as dt

from selenium.webdriver.common.keys import Keys

from test_counter import ADMIN, CLERK, login, logout

ENTER = Keys.ENTER
# hospital-e2e.toml's departments in their order: General Medicine is the first row, and the
# added department becomes the eleventh.
MED_ROW = 0
NEW_ROW = 10


def invoke(c, command: str, args: dict | None = None) -> dict:
    """The shell's answer to `command`, as the screens get it: {"ok": value} or {"err": UiError}."""
    return c.d.execute_async_script(
        "const [cmd, args, done] = arguments;"
        "window.__TAURI__.core.invoke(cmd, args)"
        "  .then((ok) => done({ ok }), (err) => done({ err }));", command, args or {})


def retype(c, css: str, text: str) -> None:
    """Replaces a cell's text the way a clerk does: click, select all, type."""
    c.click(css)
    c.chord(Keys.CONTROL, "a")
    c.keys(text)
    c.wait(lambda: c.el(css).get_property("value") == text, what=f"{css} did not take {text!r}")


def set_date(c, css: str, iso: str) -> None:
    # The date picker's segments differ between engines; the form reads the input's value.
    c.d.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', { bubbles: true }));", c.el(css), iso)


def scroll_to(c, css: str) -> None:
    """Brings `css` to the top of the window, for a screenshot of what matters."""
    c.d.execute_script("arguments[0].scrollIntoView({ block: 'start' });", c.el(css))


def open_publish(c) -> None:
    c.keys(Keys.F9)
    c.wait_el("#counters-table")
    c.chord(Keys.ALT, "8")
    c.wait_el("#publish-table")
    c.wait(lambda: len(c.els("#publish-departments tr")) >= 10, what="the departments table is empty")


def shown_day(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.strftime('%a')} {d.strftime('%d-%m-%Y')}"


def test_the_admin_finds_the_table_of_the_configuration_in_force(counter):
    c = counter
    c.wait_el("#login-form", timeout=30)
    login(c, *ADMIN)  # the first admin
    c.wait_el("#register-form")
    c.keys(Keys.F9)
    c.click("#admin-tab-users")
    c.wait_el("#user-name-new").send_keys(CLERK[0])
    c.el("#user-secret-new").send_keys(CLERK[1], ENTER)
    c.wait(lambda: CLERK[0] in c.text("#users-table"), what="clerk not listed")
    open_publish(c)
    assert c.text("h1") == "Departments and fees for every counter"
    assert "own configuration" in c.text("#publish-in-force")
    assert c.el(f"#pub-dept-{MED_ROW}-code").get_property("value") == "MED"
    assert c.el(f"#pub-dept-{MED_ROW}-fee").get_property("value") == "10"
    assert c.el("#pub-waive-bpl").is_selected() and not c.el("#pub-waive-senior").is_selected()
    # The counter's today is the date input's earliest; the form proposes tomorrow.
    today = c.el("#publish-effective_from").get_attribute("min")
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    assert c.el("#publish-effective_from").get_property("value") == tomorrow
    # The picker writes dates the system's way: the screen says the day as it writes dates.
    assert c.text("#publish-effective-day") == f"that is {shown_day(tomorrow)}"
    c.today, c.tomorrow = today, tomorrow


def test_a_bad_row_and_a_past_date_are_refused_at_their_fields(counter):
    c = counter
    retype(c, f"#pub-dept-{MED_ROW}-fee", "1x")
    yesterday = (dt.date.fromisoformat(c.today) - dt.timedelta(days=1)).isoformat()
    set_date(c, "#publish-effective_from", yesterday)
    c.click("#publish-submit")
    c.wait(lambda: c.text("#msg-publish-departments") != "", what="no row problem shown")
    assert "row 1, fee" in c.text("#msg-publish-departments"), c.text("#msg-publish-departments")
    assert c.text("#msg-publish-effective_from") == "Today or later"
    assert "Nothing was published" in c.text("#publish-error")
    assert invoke(c, "config_status")["ok"]["in_force"] is None


def test_publish_a_fee_and_a_new_department_for_today(counter):
    c = counter
    retype(c, f"#pub-dept-{MED_ROW}-fee", "15")
    assert c.text("#msg-publish-departments") == ""  # a problem goes once its row changes
    c.click("#publish-add-department")
    c.wait_focus(f"pub-dept-{NEW_ROW}-code")
    c.keys("NEP", Keys.TAB, "Nephrology", Keys.TAB, "वृक्क रोग", Keys.TAB, "OPD Block D, Room 21")
    # Every day, so the test does not depend on the weekday it runs on.
    retype(c, f"#pub-dept-{NEW_ROW}-days", "daily")
    retype(c, f"#pub-dept-{NEW_ROW}-fee", "20")
    set_date(c, "#publish-effective_from", c.today)
    assert c.text("#msg-publish-effective_from") == ""
    c.click("#publish-note")
    c.keys("Nephrology OPD opens; medicine fee revised")
    assert c.text("#publish-effective-day") == f"that is {shown_day(c.today)}"
    scroll_to(c, "#publish-form")
    c.shot("26-admin-publish")
    c.click("#publish-submit")
    c.wait(lambda: "Published: in force at every counter from" in c.text("#notice"), what="not published")
    assert c.text("#msg-publish-departments") == ""
    # In force at once: the table now is the new configuration, and the status lists its changes.
    c.wait_el("#publish-today-changes")
    changes = c.text("#publish-today-changes")
    assert "General Medicine (MED) fee Rs 10 → Rs 15" in changes, changes
    assert "New department: Nephrology (NEP), OPD Block D, Room 21, Rs 20" in changes, changes
    assert "at this counter" in c.text("#publish-in-force")
    assert c.el(f"#pub-dept-{NEW_ROW}-code").get_property("value") == "NEP"
    assert c.el(f"#pub-dept-{MED_ROW}-fee").get_property("value") == "15"


def test_the_register_screen_offers_the_new_department_and_fee_and_says_what_changed(counter):
    c = counter
    c.keys(Keys.F2)
    c.wait_el("#register-form")
    c.wait_el("#config-today")
    notice = c.text("#config-today")
    assert notice.startswith("From today:"), notice
    assert "General Medicine (MED) fee Rs 10 → Rs 15" in notice, notice
    assert "New department: Nephrology (NEP)" in notice, notice
    c.wait_el("#department-NEP")
    # (WebKitWebDriver's visible text leaves out a name cut with an ellipsis: read the DOM's.)
    assert "Nephrology" in c.el("#department-NEP").get_property("textContent")
    c.click("#department-MED")
    c.wait(lambda: c.text("#fee-amount") == "Rs 15", what="General Medicine's fee is not the new one")
    c.click("#department-NEP")
    c.wait(lambda: c.text("#fee-amount") == "Rs 20", what="Nephrology's fee is not shown")
    c.shot("27-config-from-today")
    # A patient registered in the new department pays its fee.
    c.click("#f-name")
    c.keys("Ramesh Paswan", ENTER, "m", "52", ENTER)
    c.click("#department-NEP")
    c.chord(Keys.CONTROL, ENTER)
    c.wait_el("#token-number")
    assert "Nephrology" in c.text("#token-dept")
    assert c.text("#token-fee").startswith("Rs 20"), c.text("#token-fee")
    # Today's list carries the notice too.
    c.keys(Keys.F4)
    c.wait_el("#today-table")
    c.wait_el("#config-today")


def test_a_configuration_for_tomorrow_shows_as_coming_and_changes_nothing_today(counter):
    c = counter
    open_publish(c)
    assert c.el("#publish-effective_from").get_property("value") == c.tomorrow
    retype(c, f"#pub-dept-{NEW_ROW}-fee", "25")
    c.click("#publish-submit")
    c.wait(lambda: "Published" in c.text("#notice"), what="not published")
    upcoming = c.wait_el(f"#publish-upcoming-{c.tomorrow}").text
    assert "Nephrology (NEP) fee Rs 20 → Rs 25" in upcoming, upcoming
    # Today's configuration is still the one in force: its table and fee stay.
    assert c.el(f"#pub-dept-{NEW_ROW}-fee").get_property("value") == "20"
    scroll_to(c, "h1")
    c.shot("29-admin-publish-upcoming")
    c.keys(Keys.F2)
    c.wait_el("#register-form")
    coming = c.wait_el(f"#config-upcoming-{c.tomorrow}").text
    assert coming.startswith(f"From {shown_day(c.tomorrow)}:"), coming
    assert "Nephrology (NEP) fee Rs 20 → Rs 25" in coming, coming
    assert "From today:" in c.text("#config-today")
    c.click("#department-NEP")
    c.wait(lambda: c.text("#fee-amount") == "Rs 20", what="tomorrow's fee charged today")
    c.shot("28-config-upcoming")


def test_the_notice_reads_in_hindi(counter):
    c = counter
    c.click("#lang-switch")
    c.wait(lambda: c.text("#config-today").startswith("आज से:"), what="the notice is not in Hindi")
    assert "सामान्य चिकित्सा (MED) शुल्क ₹ 10 → ₹ 15" in c.text("#config-today")
    c.click("#lang-switch")
    c.wait(lambda: c.text("#config-today").startswith("From today:"), what="the notice stayed in Hindi")


def test_a_clerk_sees_the_notice_but_cannot_publish(counter):
    c = counter
    logout(c)
    login(c, *CLERK)
    c.wait_el("#register-form")
    c.wait(lambda: "General Medicine (MED) fee Rs 10 → Rs 15" in c.text("#config-today"), what="no notice for the clerk")
    assert c.els(f"#config-upcoming-{c.tomorrow}")
    # Read, the clerk hides today's line; what is coming stays, and today's stays hidden.
    c.click("#config-today .config-hide")
    c.wait(lambda: not c.els("#config-today"), what="today's notice did not hide")
    c.keys(Keys.F4)
    c.wait_el("#today-table")
    c.keys(Keys.F2)
    c.wait_el("#register-form")
    c.wait_el(f"#config-upcoming-{c.tomorrow}")
    assert not c.els("#config-today")
    # No admin tab, and F9 stays on the register screen.
    assert not c.els("#tab-admin")
    c.keys(Keys.F9)
    assert c.el("#screen").get_attribute("data-screen") == "register"
    assert not c.els("#publish-table")
    # The shell refuses the commands themselves, whatever the window shows.
    form = invoke(c, "publish_form")
    assert form.get("err", {}).get("code") == "denied", form
    publish = {"departments": [], "waived": [], "effective_from": c.tomorrow, "note": ""}
    refused = invoke(c, "publish_config", {"form": publish})
    assert refused.get("err", {}).get("code") == "denied", refused
    status = invoke(c, "config_status")["ok"]
    assert [u["effective_from"] for u in status["upcoming"]] == [c.tomorrow]
    assert status["in_force"]["effective_from"] == c.today
