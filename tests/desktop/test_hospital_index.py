"""Returning patients of the hospital's own index, driven through the real window.

The counter starts with a copy of the hospital's patient index (imported by the CLI before the
app starts, as a standalone counter gets it). A clerk finds an indexed patient by a misspelt
name, marked "from the hospital index", and starts their visit: they are registered linked to
that UHID. A hospital card's barcode scanned into the search box goes straight to its patient. A
relative's card scanned into the form's UHID field is flagged before saving. After the outage,
the admin's link review lists the patient registered with that card, and accepting links it.
"""

from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from test_counter import ADMIN, CLERK, cli, login, logout

ENTER = Keys.ENTER

MIRROR_CSV = """uhid,name,sex,birth_year,guardian_name,mobile,address,district,state,pincode
DHP000000101,Rajendra Prasad Yadav,M,1968,Shivnath Yadav,9431000101,"Mohalla Rampur, Danapur",Patna,Bihar,801503
DHP000000102,Kamla Kumari,F,1975,Ram Babu Singh,9431000102,Boring Road,Patna,Bihar,800001
DHP000000103,Mohammad Irfan Ansari,M,1990,Abdul Ansari,9431000103,Phulwari Sharif,Patna,Bihar,801505
DHP000000104,Geeta Devi,F,1958,Sohan Lal,,Kankarbagh,Patna,Bihar,800020
"""


def test_the_counter_opens_with_the_hospital_index(counter):
    c = counter
    c.wait_el("#login-form", timeout=30)
    login(c, *ADMIN)  # the first admin
    c.wait_el("#register-form")
    # The status bar says how current the copy of the hospital's index is.
    c.wait(lambda: c.text("#mirror-state").startswith("Hospital index as of"), what="no mirror age in the status bar")
    assert c.el("#mirror-state").get_attribute("data-records") == "4"
    c.keys(Keys.F9)
    c.click("#admin-tab-users")
    c.wait_el("#user-name-new").send_keys(CLERK[0])
    c.el("#user-secret-new").send_keys(CLERK[1], ENTER)
    c.wait(lambda: CLERK[0] in c.text("#users-table"), what="clerk not listed")
    logout(c)
    login(c, *CLERK)
    c.wait_el("#register-form")
    c.wait_focus("f-name")


def test_a_misspelt_name_finds_the_hospital_index_record_and_its_visit_links_it(counter):
    c = counter
    c.keys(Keys.F3)
    c.wait_focus("search")
    c.keys("Rajendr Prasad Yadaw")
    c.wait(lambda: c.els('#results .hit[data-source="hospital_index"]'), what="no hospital-index hit")
    hit = c.el("#results .hit.selected")
    assert hit.get_attribute("data-source") == "hospital_index"
    text = hit.text
    assert "Rajendra Prasad Yadav" in text and "from the hospital index" in text, text
    assert "DHP000000101" in text and "/ M" in text, text
    c.shot("22-search-hospital-index")
    c.keys(ENTER)
    c.wait_el("#visit-start")
    c.wait_focus("visit-department")
    assert "DHP000000101" in c.text("#visit-from-index")
    c.keys("1", ENTER)
    c.wait_el("#token-number")
    assert c.text("#token-patient") == "Rajendra Prasad Yadav"
    assert c.text("#token-temp-id") == "DHP000000101"
    # Registered here from the hospital's record, linked to it.
    found = cli(c, c.data, "search", "DHP000000101")
    assert found and found[0]["source"] == "parchi", found
    shown = cli(c, c.data, "show", found[0]["temp_id"])
    assert shown["patient"]["uhid"] == "DHP000000101", shown["patient"]
    assert shown["patient"]["link"] == "linked", shown["patient"]


def scan(c, code: str) -> None:
    """A keyboard-wedge scanner: the code and Enter in one fast burst."""
    c.keys(code + ENTER)


def test_a_hospital_card_scanned_into_the_search_box_finds_its_patient(counter):
    c = counter
    c.keys(Keys.F3)
    c.wait_focus("search")
    # A card of the hospital's index: its visit at once (the department picker), no Enter needed.
    scan(c, "DHP000000103")
    c.wait_el("#visit-start")
    c.wait_focus("visit-department")
    assert "Mohammad Irfan Ansari" in c.text("#visit-title")
    assert c.text("#visit-id") == "DHP000000103"
    assert c.el("#results .hit.selected").get_attribute("data-source") == "hospital_index"
    c.shot("23-scan-uhid")
    c.keys(Keys.ESCAPE)  # back to the search box
    c.wait_focus("search")
    c.keys(Keys.ESCAPE)  # which Esc clears
    c.wait(lambda: c.el("#search").get_attribute("value") == "", what="search not cleared")
    # The card of the patient registered a moment ago: now their Parchi record.
    scan(c, "DHP000000101")
    c.wait(lambda: "Rajendra Prasad Yadav" in (c.els("#visit-title") and c.text("#visit-title") or ""),
           what="the scanned card did not open its patient")
    assert c.el("#results .hit.selected").get_attribute("data-source") == "parchi"
    c.keys(Keys.ESCAPE)
    c.wait_focus("search")
    c.keys(Keys.ESCAPE)


def test_a_relatives_card_in_the_uhid_field_is_flagged_before_saving(counter):
    c = counter
    c.keys(Keys.F2)
    c.wait_focus("f-name")
    # A young man brings the card of a woman of fifty (his mother's, say).
    c.keys("Kamla Kumari", ENTER)
    c.wait_focus("f-sex")
    c.keys("m")
    c.wait_focus("f-age")
    c.keys("25", ENTER)
    for field in ("f-dob", "f-guardian_relation", "f-guardian_name"):
        c.wait_focus(field)
        c.keys(ENTER)
    c.wait_focus("f-mobile")
    c.keys("9431000199", ENTER)
    for field in ("f-address", "f-district", "f-state", "f-pincode"):
        c.wait_focus(field)
        c.keys(ENTER)
    c.wait_focus("f-uhid")
    scan(c, "DHP000000102")
    # The card's record is checked at once: a warning at the field, before anything is saved.
    c.wait(lambda: c.el("#msg-uhid").get_attribute("data-code") == "card_mismatch", timeout=10,
           what=f"no relative's-card warning: {c.text('#msg-uhid')!r}")
    assert "relative's card" in c.text("#msg-uhid")
    assert "warn" in (c.el('[data-field="uhid"]').get_attribute("class") or "")
    assert c.active_id() == "f-abha"  # the scanner's Enter moved on, like the clerk's
    # The card's record shows on the left, so the clerk can compare.
    c.wait(lambda: any("DHP000000102" in e.text for e in c.els("#results .hit")), what="the card's record not shown")
    assert all(h["source"] == "hospital_index" for h in cli(c, c.data, "search", "Kamla Kumari")), "saved already"
    c.shot("24-relatives-card-warning")
    c.chord(Keys.CONTROL, ENTER)
    c.wait_el("#token-number")
    assert "relative's card" in c.text(".warnings")
    found = [h for h in cli(c, c.data, "search", "Kamla Kumari") if h["source"] == "parchi"]
    assert len(found) == 1, found
    shown = cli(c, c.data, "show", found[0]["temp_id"])
    assert shown["patient"]["link"] == "claimed" and shown["patient"]["uhid"] == "DHP000000102", shown["patient"]
    c.kamla = found[0]["temp_id"]


def test_the_admin_link_review_lists_the_claimed_patient_and_accept_links_it(counter):
    c = counter
    logout(c)
    login(c, *ADMIN)
    c.wait_el("#register-form")
    c.keys(Keys.F9)
    c.wait_el("#counters-table")
    c.chord(Keys.ALT, "7")
    c.wait_el("#link-run")
    c.click("#link-run")
    c.wait(lambda: "patients matched against 4 hospital records" in c.text("#link-counts"), timeout=30,
           what=f"the link did not run: {c.text('#link-counts')!r}")
    c.wait_el("#link-item")
    assert "Kamla Kumari" in c.text("#link-patient") and "DHP000000102" in c.text("#link-patient")
    cand = c.el("#link-cand-0")
    assert cand.get_attribute("data-uhid") == "DHP000000102"
    assert "Kamla Kumari" in cand.text and "51Y / F" in cand.text, cand.text
    assert "different sex" in cand.text, cand.text
    assert c.els("#link-cand-0 .kv.diff"), "the differing age and sex are not marked"
    # The mobile Parchi captured may go to the hospital's record.
    c.click("#link-upd-mobile")
    assert c.el("#link-upd-mobile").is_selected()
    c.shot("25-admin-link-review")
    c.keys("a")  # A: link
    c.wait(lambda: "Linked to DHP000000102" in c.text("#notice"), what="not linked")
    c.wait_el("#link-none")
    shown = cli(c, c.data, "show", c.kamla)
    assert shown["patient"]["link"] == "linked" and shown["patient"]["uhid"] == "DHP000000102", shown["patient"]
