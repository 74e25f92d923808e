"""The web portal in headless Chromium against the real platform with the demo organisation.

Logins: guardian 100001 has Sam (Vlinders) and a child in Avonturiers; Daan in Vlinders
(guardian 100002) has no photo consent; 900001 is pedagogical staff in Vlinders.
"""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pytest
import requests
from PIL import Image

from tests.browser.harness import axe_source, browser, platform, tab_factory  # noqa: F401 - fixtures

GUARDIAN = "100001"
STAFF = "900001"


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def children(platform):
    """The guardian's children by group name, from the JSON API."""
    me = platform.session(GUARDIAN).get(f"{platform.url}/api/v1/me", timeout=15).json()
    return {child["group_name"]: child for child in me["children"]}


@pytest.fixture(scope="module")
def unconsented_child(platform):
    me = platform.session("100002").get(f"{platform.url}/api/v1/me", timeout=15).json()
    return me["children"][0]


def test_login_page_dutch_by_default(tab_factory):
    tab = tab_factory()
    tab.open("/login")
    assert tab.page.get_attribute("html", "lang") == "nl"
    assert tab.page.inner_text("h1") == "Inloggen"
    tab.check("login")


def test_login_page_follows_accept_language(tab_factory):
    tab = tab_factory(locale="en-GB")
    tab.open("/login")
    assert tab.page.get_attribute("html", "lang") == "en"
    assert tab.page.inner_text("h1") == "Log in"


def test_login_wrong_password_shows_error(tab_factory):
    tab = tab_factory()
    tab.login(GUARDIAN, "not-the-password")
    assert tab.page.url.endswith("/login")
    assert "klopt niet" in tab.page.inner_text("[role=alert]")
    tab.check("login-error")


def test_form_without_csrf_token_rejected(platform):
    response = requests.post(f"{platform.url}/login", data={"account_number": GUARDIAN,
                             "password": "Welkom-bij-Samen-2026"}, timeout=15, allow_redirects=False)
    assert response.status_code == 400
    assert "samen_portal" not in response.cookies


def test_pages_send_strict_csp(platform):
    response = requests.get(f"{platform.url}/login", timeout=15)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_session_cookie_hidden_from_script(tab_factory):
    tab = tab_factory()
    tab.login(GUARDIAN)
    cookies = {cookie["name"]: cookie for cookie in tab.page.context.cookies()}
    session = cookies["samen_portal"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["expires"] == -1, "without remember me the cookie must end with the browser session"
    assert "samen_portal" not in tab.page.evaluate("document.cookie")
    assert "eyJ" not in tab.page.content(), "no access token may reach the page"


def test_remember_me_sets_lasting_cookie(tab_factory):
    tab = tab_factory()
    tab.open("/login")
    tab.page.fill("#account_number", GUARDIAN)
    tab.page.fill("#password", "Welkom-bij-Samen-2026")
    tab.page.check("#remember_me")
    tab.page.click("form.stacked button[type=submit]")
    tab.page.wait_for_load_state()
    session = {cookie["name"]: cookie for cookie in tab.page.context.cookies()}["samen_portal"]
    assert session["expires"] > time.time() + 20 * 24 * 3600


def test_login_leads_to_timeline(tab_factory):
    tab = tab_factory()
    tab.login(GUARDIAN)
    assert tab.page.url.rstrip("/") == tab.base_url
    assert tab.page.inner_text("h1") == "Tijdlijn"
    tab.check("timeline")


def test_logout_ends_session(tab_factory):
    tab = tab_factory()
    tab.login(GUARDIAN)
    tab.page.click("header form button.link-button")
    tab.page.wait_for_load_state()
    tab.open("/settings")
    assert "/login" in tab.page.url


def test_staff_posts_photos_parent_sees_own_only(tab_factory, platform, children, unconsented_child, tmp_path):
    sam = children["Vlinders"]
    own_file = tmp_path / "sam.jpg"
    own_file.write_bytes(_jpeg((200, 120, 40)))
    group_file = tmp_path / "group.jpg"
    group_file.write_bytes(_jpeg((40, 120, 200)))

    staff = tab_factory()
    staff.login(STAFF)
    staff.open("/staff/photos")
    staff.page.set_input_files("#photo-files", str(own_file))
    staff.page.check(f"#tag-{sam['id']}")
    staff.page.fill("#activity-text", "Buiten spelen")
    staff.page.click("form.panel button[type=submit]")
    staff.page.wait_for_load_state()
    assert "geplaatst" in staff.page.inner_text("[role=status]")

    staff.page.set_input_files("#photo-files", str(group_file))
    staff.page.check(f"#tag-{sam['id']}")
    staff.page.check(f"#tag-{unconsented_child['id']}")
    staff.page.click("form.panel button[type=submit]")
    staff.page.wait_for_load_state()
    staff.check("staff-photos")

    parent = tab_factory()
    parent.login(GUARDIAN)
    deadline = time.monotonic() + 60
    while True:
        parent.open(f"/photos?child={sam['id']}")
        if parent.page.locator(".photo img").count() >= 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    shown = parent.page.locator(".photo").count()
    assert parent.page.locator(".photo img").count() == 1, parent.page.inner_text("main")
    assert shown == 1, "the group photo with a child without consent must stay hidden"

    blocked = platform.session(STAFF).get(f"{platform.url}/api/v1/photos/blocked", timeout=15).json()["items"]
    assert blocked, "the group photo must be blocked"
    for photo in blocked:
        assert parent.page.locator(f"[data-photo-id='{photo['id']}']").count() == 0
    parent.check("photos")


def _next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.isoweekday()) % 7)


def test_parent_reports_illness(tab_factory, children):
    sam = children["Vlinders"]
    tab = tab_factory()
    tab.login(GUARDIAN)
    tab.open(f"/agenda?child={sam['id']}")
    # The demo child comes on Mondays, Tuesdays and Thursdays; an illness report for a day
    # without care is rejected, so report the first planned day from today on.
    first_planned = min(_next_weekday(date.today(), weekday) for weekday in (1, 2, 4))
    tab.page.fill("#illness-start", first_planned.isoformat())
    tab.page.click("#illness-heading ~ form button.primary")
    tab.page.wait_for_load_state()
    notice = tab.page.locator("[role=status], [role=alert]").first.inner_text()
    assert "ziekmelding" in notice.lower(), notice
    assert tab.page.locator("tr.request", has_text="Ziekmelding").count() >= 1
    tab.check("agenda")

    # An illness lasts until the recovery notice, so end it; later journeys request other days.
    tab.page.fill("#back-on", (first_planned + timedelta(days=1)).isoformat())
    tab.page.click("#back-on ~ button")
    tab.page.wait_for_load_state()
    assert tab.page.locator("[role=alert]").count() == 0, tab.page.locator("[role=alert]").first.inner_text()


def test_parent_requests_swap_day(tab_factory, children):
    sam = children["Vlinders"]
    # Sam's contract days are Monday, Tuesday and Thursday; a Wednesday is free to swap to.
    monday = _next_weekday(date.today() + timedelta(days=21), 1)
    wednesday = monday + timedelta(days=2)
    tab = tab_factory()
    tab.login(GUARDIAN)
    tab.open(f"/agenda?child={sam['id']}")
    tab.page.fill("#swap-give", monday.isoformat())
    tab.page.fill("#swap-new", wednesday.isoformat())
    tab.page.click("#swap-heading ~ form button.primary")
    tab.page.wait_for_load_state()
    alerts = tab.page.locator("[role=alert]")
    assert alerts.count() == 0, alerts.first.inner_text()
    assert tab.page.locator("tr.request", has_text="Ruildag").count() >= 1


def test_parent_changes_notification_setting(tab_factory):
    tab = tab_factory()
    tab.login(GUARDIAN)
    tab.open("/settings")
    switch = tab.page.locator("#switch-photos-email")
    if switch.count() == 0:
        pytest.skip("notify.notification_settings is not available on this platform")
    before = switch.is_checked()
    switch.set_checked(not before)
    tab.page.click("#notifications button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.page.locator("#switch-photos-email").is_checked() is (not before)
    tab.check("settings")


def test_parent_switches_to_english(tab_factory, platform):
    tab = tab_factory()
    tab.login(GUARDIAN)
    try:
        tab.page.click("header button[value=en]")
        tab.page.wait_for_load_state()
        assert tab.page.get_attribute("html", "lang") == "en"
        assert tab.page.inner_text("h1") == "Timeline"
        me = platform.session(GUARDIAN).get(f"{platform.url}/api/v1/me", timeout=15).json()
        assert me["language"] == "en", "the choice must be stored as the account's setting"
        tab.check("timeline-en")
    finally:
        platform.session(GUARDIAN).patch(f"{platform.url}/api/v1/me", json={"language": "nl"}, timeout=15)


def test_staff_writes_notebook_parent_downloads_pdf(tab_factory, children):
    sam = children["Vlinders"]
    staff = tab_factory()
    staff.login(STAFF)
    staff.open("/staff/notebook")
    staff.page.check(f"#entry-{sam['id']}")
    staff.page.fill("#entry-text", "Vandaag veel gelachen bij het zingen.")
    staff.page.click("form.panel button[type=submit]")
    staff.page.wait_for_load_state()
    assert staff.page.locator("[role=alert]").count() == 0, staff.page.inner_text("main")
    staff.check("staff-notebook")

    parent = tab_factory()
    parent.login(GUARDIAN)
    parent.open(f"/notebook?child={sam['id']}")
    assert "veel gelachen" in parent.page.inner_text("main")
    parent.check("notebook")
    with parent.page.expect_download() as download_info:
        parent.page.click("#keepsake-heading ~ form button[type=submit]")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_parent_sends_message(tab_factory, children):
    sam = children["Vlinders"]
    tab = tab_factory()
    tab.login(GUARDIAN)
    tab.open("/messages")
    tab.page.select_option("#message-child", sam["id"])
    tab.page.fill("#message-body", "Sam wordt vandaag door opa opgehaald.")
    tab.page.click("#new-message ~ form button[type=submit]")
    tab.page.wait_for_load_state()
    assert "opa opgehaald" in tab.page.inner_text("main")
    tab.check("thread")



def test_admin_uploads_invoice_parent_downloads(tab_factory, platform, children):
    admin = platform.session("900003")
    uploaded = admin.post(
        f"{platform.url}/api/v1/guardians/{GUARDIAN}/documents",
        data={"kind": "invoice", "title": "Factuur browser", "period": "2026-11"},
        files={"file": ("factuur-browser.pdf", b"%PDF-1.4\n% browser journey\n", "application/pdf")}, timeout=15,
    )
    assert uploaded.status_code == 201, uploaded.text
    location_id = children["Vlinders"]["location_id"]
    committee = admin.put(f"{platform.url}/api/v1/locations/{location_id}/parent-committee", timeout=15, json={
        "members": [{"name": "Sanne Bakker", "role": "voorzitter"}], "contact_email": "oc@example.org"})
    assert committee.status_code == 200, committee.text

    parent = tab_factory()
    parent.login(GUARDIAN)
    parent.open("/documents")
    assert "Factuur browser" in parent.page.inner_text("main")
    parent.check("documents-with-invoice")
    with parent.page.expect_download() as download_info:
        parent.page.click(f"a[href$='/documents/{uploaded.json()['id']}/download']")
    download = download_info.value
    assert download.suggested_filename == "factuur-browser.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    parent.open("/parent-committee")
    assert "Sanne Bakker" in parent.page.inner_text("main")
    parent.check("parent-committee-with-members")


PARENT_PAGES = [
    ("/messages", "messages"), ("/news", "news"), ("/notifications", "notifications"),
    ("/documents", "documents"), ("/team", "team"), ("/parent-committee", "parent-committee"),
    ("/accessibility", "accessibility"), ("/forgot-password", "forgot-password"),
    ("/reset-password?token=unknown", "reset-password"),
]


@pytest.mark.parametrize(("path", "name"), PARENT_PAGES)
def test_parent_page_accessible(tab_factory, path, name):
    tab = tab_factory()
    if "password" not in path:
        tab.login(GUARDIAN)
    response = tab.open(path)
    assert response.status == 200
    tab.check(name)


def test_staff_day_accessible(tab_factory):
    tab = tab_factory()
    tab.login(STAFF)
    assert "/staff" in tab.page.url
    assert tab.page.locator("#attendance-heading").count() == 1
    tab.check("staff-day")


def test_bottom_bar_on_small_screen(tab_factory):
    tab = tab_factory(viewport={"width": 390, "height": 844})
    tab.login(GUARDIAN)
    nav = tab.page.locator("nav.main-nav")
    box = nav.bounding_box()
    assert box["y"] + box["height"] >= 844 - 1, "the main pages sit in a bar at the bottom"
    assert tab.page.locator("nav.main-nav li.wide-only").first.is_hidden()
    tab.check("timeline-mobile")


def test_pages_work_without_javascript(browser, platform):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(platform.url + "/login")
        page.fill("#account_number", GUARDIAN)
        page.fill("#password", "Welkom-bij-Samen-2026")
        page.click("form.stacked button[type=submit]")
        page.wait_for_load_state()
        page.goto(platform.url + "/agenda")
        assert page.locator("table.month").count() == 1
    finally:
        context.close()
