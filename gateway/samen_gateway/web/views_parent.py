"""Guardian pages: timeline, photos, notebook, messages, agenda, news, settings and information pages."""

from __future__ import annotations

import calendar
from datetime import date

from flask import abort, g, redirect, render_template, request, url_for

from samen_common import i18n
from samen_common.errors import SamenError
from samen_common.timeutil import local_today
from samen_gateway.api import media as media_api
from samen_gateway.api.documents import stream_document
from samen_gateway.api.messaging import keepsake_response, news_attachment_response
from samen_gateway.context import rpc
from samen_gateway.web import bp, portal
from samen_gateway.web.portal import UNAVAILABLE, login_required, optional_rpc, shown_on_form

NOTIFICATION_SUBJECTS = ("photos", "notebook", "messages", "news", "requests", "documents")
CHANNELS = ("push", "email")
DAYPARTS = ("whole_day", "morning", "afternoon", "before_school", "after_school", "holiday")
MESSAGE_MAX = 4000


# Shared page data.


def profile() -> dict:
    if "portal_profile" not in g:
        g.portal_profile = rpc("accounts", "me")
    return g.portal_profile


def own_children() -> list[dict]:
    return profile().get("children") or []


def chosen_child(children: list[dict], allow_all: bool = False) -> dict | None:
    """Return the child named by `?child=`; 404 for a child that is not the caller's own."""
    wanted = request.values.get("child")
    if not wanted:
        return None if allow_all or not children else children[0]
    for child in children:
        if child["id"] == wanted:
            return child
    abort(404)


def unread_counts() -> dict:
    """Unread notifications and messages for the navigation; a missing service counts as none."""
    if "portal_unread" in g:
        return g.portal_unread
    counts = {"notifications": 0, "messages": 0}
    if g.get("portal_session") is not None:
        inbox = optional_rpc("notify", "list_notifications", 1)
        if inbox is not UNAVAILABLE:
            counts["notifications"] = int(inbox.get("unread_count") or 0)
        threads = optional_rpc("messaging", "list_threads")
        if threads is not UNAVAILABLE:
            counts["messages"] = sum(int(thread.get("unread_count") or 0) for thread in threads)
    g.portal_unread = counts
    return counts


bp.add_app_template_global(unread_counts, "unread_counts")


def flash_key() -> str | None:
    """Return a confirmation text key passed in `?done=` after a POST-redirect-GET."""
    done = request.args.get("done", "")
    return f"done.{done}" if done.isidentifier() else None


bp.add_app_template_global(flash_key, "flash_key")


def guardian_page(view):
    """Require a logged-in guardian; staff land on their group's day instead."""
    from functools import wraps

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.caller.is_guardian:
            return redirect(url_for("web.staff_day"))
        return view(*args, **kwargs)

    return wrapper


# Timeline.


@bp.get("/")
@guardian_page
def timeline():
    children = own_children()
    child = chosen_child(children, allow_all=True)
    page = optional_rpc("messaging", "timeline", child["id"] if child else None, request.args.get("cursor"))
    return render_template("timeline.html", children=children, child=child, page=page)


# Photos.


@bp.get("/photos")
@guardian_page
def photos():
    children = own_children()
    child = chosen_child(children)
    album = optional_rpc("media", "album", child["id"], request.args.get("cursor"), 30) if child else None
    return render_template("photos.html", children=children, child=child, album=album)


@bp.get("/photos/<photo_id>/download")
@login_required
def photo_download(photo_id):
    link = rpc("media", "original_url", photo_id)
    return redirect(link["url"], code=303)


@bp.get("/photos/archive")
@guardian_page
def photo_archive():
    child = chosen_child(own_children())
    if child is None:
        abort(404)
    return media_api.album_zip(child["id"])


# Notebook.


@bp.get("/notebook")
@guardian_page
def notebook():
    children = own_children()
    child = chosen_child(children)
    entries = optional_rpc("messaging", "notebook", child["id"]) if child else None
    today = local_today()
    return render_template(
        "notebook.html", children=children, child=child, entries=entries,
        default_from=today.replace(day=1).isoformat(), default_to=today.isoformat(),
    )


@bp.get("/notebook/keepsake")
@guardian_page
def notebook_keepsake():
    child = chosen_child(own_children())
    if child is None:
        abort(404)
    return keepsake_response(child["id"], request.args.get("from") or None, request.args.get("to") or None)


@bp.post("/notebook/<entry_id>/save")
@guardian_page
def notebook_save(entry_id):
    rpc("messaging", "save_notebook_entry", entry_id, request.form.get("saved") == "1")
    return redirect(url_for("web.notebook", child=request.form.get("child"), done="saved"), code=303)


@bp.post("/notebook/<entry_id>/react")
@guardian_page
def notebook_react(entry_id):
    rpc("messaging", "react_to_notebook_entry", entry_id, request.form.get("text", "")[:MESSAGE_MAX])
    return redirect(url_for("web.notebook", child=request.form.get("child"), done="sent"), code=303)


# Messages.


@bp.route("/messages", methods=["GET", "POST"])
@login_required
def messages():
    children = own_children() if g.caller.is_guardian else []
    if request.method == "POST":
        child = chosen_child(children)
        if child is None:
            abort(404)
        posted = rpc("messaging", "post_child_message", child["id"], request.form.get("body", "")[:MESSAGE_MAX])
        return redirect(url_for("web.thread", thread_id=posted["thread"]["id"], done="sent"), code=303)
    threads = optional_rpc("messaging", "list_threads")
    return render_template("messages.html", children=children, threads=threads)


@bp.route("/messages/<thread_id>", methods=["GET", "POST"])
@login_required
def thread(thread_id):
    if request.method == "POST":
        rpc("messaging", "post_thread_message", thread_id, request.form.get("body", "")[:MESSAGE_MAX])
        return redirect(url_for("web.thread", thread_id=thread_id, done="sent"), code=303)
    conversation = rpc("messaging", "get_thread", thread_id)
    g.pop("portal_unread", None)
    return render_template("thread.html", conversation=conversation)


# Agenda.


def _month(value: str | None) -> date:
    if value:
        try:
            return date.fromisoformat(f"{value}-01")
        except ValueError:
            abort(404)
    return local_today().replace(day=1)


def _shift_month(first: date, months: int) -> str:
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_weeks(first: date, days: list[dict]) -> list[list[dict | None]]:
    """Arrange a month's days in Monday-first weeks, None for the days outside the month."""
    by_date = {day["date"]: day for day in days}
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append([
            {**by_date.get(day.isoformat(), {"slots": [], "closed": None}), "date": day} if day.month == first.month
            else None
            for day in week
        ])
    return weeks


@bp.get("/agenda")
@guardian_page
def agenda():
    children = own_children()
    child = chosen_child(children)
    first = _month(request.args.get("month"))
    schedule = credit = requests_list = None
    if child:
        schedule = optional_rpc("requests", "child_schedule", child["id"], first.strftime("%Y-%m"))
        credit = optional_rpc("requests", "child_credit", child["id"])
        requests_list = optional_rpc("requests", "child_requests", child["id"])
    weeks = month_weeks(first, schedule["days"]) if schedule else []
    closing_days = [day for week in weeks for day in week if day and day.get("closed")]
    return render_template(
        "agenda.html", children=children, child=child, schedule=schedule, credit=credit,
        requests_list=requests_list, weeks=weeks, closing_days=closing_days, month=first,
        previous_month=_shift_month(first, -1), next_month=_shift_month(first, 1),
        today=local_today().isoformat(), dayparts=DAYPARTS, feed_url=request.args.get("feed"),
        month_name=_month_name(first),
    )


def _month_name(first: date) -> str:
    from babel.dates import format_date

    return format_date(first, "LLLL y", locale=g.language)


def _agenda_redirect(child_id: str, done: str):
    return redirect(url_for("web.agenda", child=child_id, month=request.form.get("month") or None, done=done),
                    code=303)


def _optional_daypart() -> str | None:
    value = request.form.get("daypart") or None
    if value is not None and value not in DAYPARTS:
        abort(400)
    return value


def _agenda_form_error(child: dict, exc: SamenError):
    """Render the agenda again with the service's reason, so the guardian can read why a request failed."""
    g.portal_form_error = exc.message(g.language)
    return agenda_with_error(child, exc.status)


def _agenda_request(child: dict, done: str, method: str, **kwargs):
    """Send an agenda form to the requests service; a rejection re-renders the agenda with its reason."""
    try:
        rpc("requests", method, child["id"], **kwargs)
    except SamenError as exc:
        if not shown_on_form(exc):
            raise
        return _agenda_form_error(child, exc)
    return _agenda_redirect(child["id"], done)


def agenda_with_error(child: dict, status: int):
    response = agenda()
    return response, status


@bp.post("/agenda/illness")
@guardian_page
def agenda_illness():
    child = chosen_child(own_children())
    return _agenda_request(
        child, "illness", "report_illness", start_date=request.form.get("start_date") or None,
        daypart=_optional_daypart(), idempotency_key=request.form.get("idempotency_key") or None,
    )


@bp.post("/agenda/recovered")
@guardian_page
def agenda_recovered():
    child = chosen_child(own_children())
    return _agenda_request(
        child, "recovered", "report_recovered", back_on=request.form.get("back_on") or None,
        idempotency_key=request.form.get("idempotency_key") or None,
    )


@bp.post("/agenda/absence")
@guardian_page
def agenda_absence():
    child = chosen_child(own_children())
    kind = request.form.get("kind", "holiday")
    if kind not in ("holiday", "absence_other"):
        abort(400)
    return _agenda_request(
        child, "absence", "report_absence", kind=kind, start_date=request.form.get("start_date", ""),
        end_date=request.form.get("end_date") or None, daypart=_optional_daypart(),
        note=(request.form.get("note") or "")[:1000] or None,
        idempotency_key=request.form.get("idempotency_key") or None,
    )


@bp.post("/agenda/extra-day")
@guardian_page
def agenda_extra_day():
    child = chosen_child(own_children())
    return _agenda_request(
        child, "requested", "request_extra_day", day=request.form.get("day", ""),
        daypart=_optional_daypart() or "whole_day", spend_credit=request.form.get("spend_credit") == "on",
        waitlist=request.form.get("waitlist") == "on", alternatives=[],
        idempotency_key=request.form.get("idempotency_key") or None,
    )


@bp.post("/agenda/swap-day")
@guardian_page
def agenda_swap_day():
    child = chosen_child(own_children())
    return _agenda_request(
        child, "requested", "request_swap_day", given_up_day=request.form.get("given_up_day", ""),
        new_day=request.form.get("new_day", ""), waitlist=request.form.get("waitlist") == "on",
        alternatives=[], idempotency_key=request.form.get("idempotency_key") or None,
    )


@bp.post("/agenda/requests/<request_id>/cancel")
@guardian_page
def agenda_cancel(request_id):
    child = chosen_child(own_children())
    rpc("requests", "cancel_request", request_id)
    return _agenda_redirect(child["id"], "cancelled")


@bp.post("/agenda/calendar-feed")
@guardian_page
def agenda_calendar_feed():
    child = chosen_child(own_children())
    feed = rpc("requests", "reset_calendar_feed", child["id"])
    # The secret URL is shown once, on the page that follows; it is not stored by the portal.
    return render_template("calendar_feed.html", child=child, feed_url=request.host_url.rstrip("/") + feed["path"])


# News.


@bp.get("/news")
@login_required
def news():
    items = optional_rpc("messaging", "list_news")
    return render_template("news.html", items=items)


@bp.get("/news/<news_id>")
@login_required
def news_item(news_id):
    item = rpc("messaging", "get_news", news_id)
    return render_template("news_item.html", item=item)


@bp.get("/news/<news_id>/attachments/<attachment_id>")
@login_required
def news_attachment(news_id, attachment_id):
    return news_attachment_response(rpc("messaging", "news_attachment", news_id, attachment_id))


# Notifications inbox.


@bp.get("/notifications")
@login_required
def notifications():
    inbox = optional_rpc("notify", "list_notifications", 30, request.args.get("cursor"))
    return render_template("notifications.html", inbox=inbox)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    rpc("notify", "mark_all_read")
    return redirect(url_for("web.notifications"), code=303)


# Settings.


@bp.get("/settings")
@login_required
def settings():
    return render_template(
        "settings.html", profile=profile(),
        notification_settings=optional_rpc("notify", "notification_settings"),
        devices=optional_rpc("notify", "list_devices"),
        subjects=NOTIFICATION_SUBJECTS, channels=CHANNELS, error_message=g.get("portal_form_error"),
    )


@bp.get("/settings/notifications")
def settings_notifications():
    return redirect(url_for("web.settings") + "#notifications")


@bp.post("/settings/notifications")
@login_required
def settings_notifications_save():
    subjects = {
        subject: {channel: request.form.get(f"{subject}.{channel}") == "on" for channel in CHANNELS}
        for subject in NOTIFICATION_SUBJECTS
    }
    rpc("notify", "update_notification_settings", {"subjects": subjects})
    return redirect(url_for("web.settings", done="notifications") + "#notifications", code=303)


@bp.post("/settings/language")
def settings_language():
    language = request.form.get("language")
    if language not in i18n.LANGUAGES:
        abort(400)
    if g.portal_session is not None:
        rpc("accounts", "update_me", language=language)
        portal.update_session(language=language)
    g.language = language
    g.portal_new_cookies[portal.LANGUAGE_COOKIE] = (language, portal.LANGUAGE_COOKIE_SECONDS)
    return redirect(portal.safe_next(request.form.get("next")), code=303)


@bp.post("/settings/password")
@login_required
def settings_password():
    new_password = request.form.get("new_password", "")[:1024]
    if new_password != request.form.get("repeat_password", "")[:1024]:
        g.portal_form_error = portal_text("password.mismatch")
        return settings(), 400
    try:
        rpc("accounts", "change_password", request.form.get("current_password", "")[:1024], new_password)
    except SamenError as exc:
        if exc.status != 400:
            raise
        g.portal_form_error = exc.message(g.language)
        return settings(), 400
    return redirect(url_for("web.settings", done="password"), code=303)


@bp.post("/settings/devices/<device_id>/remove")
@login_required
def settings_device_remove(device_id):
    rpc("notify", "unregister_device", device_id)
    return redirect(url_for("web.settings", done="device_removed") + "#devices", code=303)


@bp.post("/settings/logout-everywhere")
@login_required
def settings_logout_everywhere():
    rpc("accounts", "logout_everywhere")
    portal.end_session()
    return redirect(url_for("web.login", logged_out=1), code=303)


def portal_text(key: str) -> str:
    from samen_gateway.web.texts import translate

    return translate(key, g.language)


# Information pages.


@bp.get("/documents")
@guardian_page
def documents():
    items = optional_rpc("messaging", "list_my_documents")
    return render_template("documents.html", items=items)


@bp.get("/documents/<document_id>/download")
@guardian_page
def document_download(document_id):
    return stream_document(rpc("messaging", "my_document_download", document_id))


@bp.get("/team")
@guardian_page
def team():
    children = own_children()
    group_ids = sorted({child["group_id"] for child in children if child.get("group_id")})
    by_group = rpc("accounts", "staff_of_groups", group_ids) if group_ids else {}
    staff_ids = sorted({staff_id for ids in by_group.values() for staff_id in ids})
    names = {contact["id"]: contact for contact in rpc("accounts", "contacts", staff_ids)} if staff_ids else {}
    groups = []
    for child in children:
        if child.get("group_id") and child["group_id"] not in [group["id"] for group in groups]:
            members = [names[staff_id] for staff_id in by_group.get(child["group_id"], []) if staff_id in names]
            groups.append({"id": child["group_id"], "name": child["group_name"],
                           "location_name": child.get("location_name"), "staff": members})
    # NOTE: this lists the staff of the children's own groups; the other groups of the location
    # follow once accounts offers a list of a location's staff.
    return render_template("team.html", groups=groups)


@bp.get("/parent-committee")
@guardian_page
def parent_committee():
    location_ids = sorted({child["location_id"] for child in own_children() if child.get("location_id")})
    committees = []
    for location_id in location_ids:
        committee = optional_rpc("messaging", "parent_committee", location_id)
        if committee is UNAVAILABLE:
            return render_template("parent_committee.html", committees=UNAVAILABLE)
        committees.append(committee)
    committees.sort(key=lambda committee: committee.get("location_name") or "")
    return render_template("parent_committee.html", committees=committees)


@bp.get("/parent-committee/<location_id>/minutes/<document_id>")
@guardian_page
def committee_minutes_download(location_id, document_id):
    return stream_document(rpc("messaging", "committee_minutes_download", location_id, document_id))


@bp.get("/accessibility")
def accessibility():
    return render_template("accessibility.html")
