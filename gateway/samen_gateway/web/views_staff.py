"""Staff pages: the group's day, deciding requests, posting photos and writing notebook entries."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for

from samen_common.errors import InvalidInput, SamenError
from samen_common.timeutil import local_today
from samen_gateway.api import media as media_api
from samen_gateway.context import rpc
from samen_gateway.web import bp
from samen_gateway.web.portal import UNAVAILABLE, optional_rpc, shown_on_form, staff_required
from samen_gateway.web.views_parent import profile
from samen_media.settings import media_settings

NOTE_MAX = 4000


def staff_groups() -> list[dict]:
    return profile().get("groups") or []


def chosen_group() -> dict | None:
    """Return the group named by `?group=` (404 when not the caller's), else the first own group."""
    groups = staff_groups()
    wanted = request.values.get("group")
    if wanted:
        for group in groups:
            if group["id"] == wanted:
                return group
        abort(404)
    own = [group for group in groups if group.get("works_here")]
    return (own or groups or [None])[0]


def group_children(group_id: str) -> list[dict]:
    child_ids = rpc("accounts", "children_of_groups", [group_id]).get(group_id, [])
    children = rpc("accounts", "children", child_ids) if child_ids else []
    return sorted(children, key=lambda child: (child.get("first_name") or "", child.get("last_name") or ""))


@bp.get("/staff")
@staff_required
def staff_day():
    group = chosen_group()
    day = request.args.get("date") or local_today().isoformat()
    attendance = pending = overview = None
    names: dict[str, str] = {}
    if group:
        attendance = optional_rpc("requests", "group_attendance", group["id"], day)
        pending = optional_rpc("requests", "pending_requests", group_id=group["id"])
        overview = optional_rpc("messaging", "group_day", group["id"], day)
        names = {child["id"]: f"{child.get('first_name', '')} {child.get('last_name', '')}".strip()
                 for child in group_children(group["id"])}
    return render_template(
        "staff_day.html", groups=staff_groups(), group=group, day=day, attendance=attendance,
        pending=pending, overview=overview, names=names, error_message=g.get("portal_form_error"),
    )


@bp.post("/staff/requests/<request_id>/decision")
@staff_required
def staff_decide(request_id):
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        rpc("requests", "decide_request", request_id, decision,
            reason=(request.form.get("reason") or "")[:1000] or None)
    except SamenError as exc:
        if not shown_on_form(exc):
            raise
        g.portal_form_error = exc.message(g.language)
        return staff_day(), exc.status
    return redirect(url_for("web.staff_day", group=request.form.get("group"), done="decided"), code=303)


@bp.route("/staff/photos", methods=["GET", "POST"])
@staff_required
def staff_photos():
    group = chosen_group()
    if group is None:
        abort(404)
    error_message = None
    if request.method == "POST":
        try:
            _upload_photos(group["id"])
        except SamenError as exc:
            if not shown_on_form(exc):
                raise
            error_message = exc.message(g.language)
        else:
            return redirect(url_for("web.staff_photos", group=group["id"], done="photos_posted"), code=303)
    photos = optional_rpc("media", "group_photos", group["id"], None)
    return render_template(
        "staff_photos.html", groups=staff_groups(), group=group, children=group_children(group["id"]),
        photos=photos, error_message=error_message,
    ), 400 if error_message else 200


def _upload_photos(group_id: str) -> list[dict]:
    """Check and store the uploaded files as the JSON API does, then register them with their tags."""
    settings = media_settings()
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        raise InvalidInput("photo_no_files")
    if len(uploads) > settings.max_files_per_upload:
        raise InvalidInput("photo_too_many_files", limit=settings.max_files_per_upload)
    checked = [(upload.filename, media_api._checked_upload_bytes(upload.stream, settings)) for upload in uploads]
    keys = media_api._write_uploads([data for _name, data in checked])
    try:
        return rpc(
            "media", "register_uploads",
            [{"upload_key": key, "original_filename": name} for key, (name, _data) in zip(keys, checked)],
            group_id,
            child_ids=request.form.getlist("child_ids"),
            activity_text=(request.form.get("activity_text") or "").strip()[:200] or None,
        )
    except SamenError:
        media_api._delete_quietly(keys)
        raise


@bp.route("/staff/notebook", methods=["GET", "POST"])
@staff_required
def staff_notebook():
    group = chosen_group()
    if group is None:
        abort(404)
    error_message = None
    if request.method == "POST":
        try:
            rpc("messaging", "add_group_notebook_entries", group["id"], request.form.getlist("child_ids"),
                text=(request.form.get("text") or "")[:NOTE_MAX])
        except SamenError as exc:
            if not shown_on_form(exc):
                raise
            error_message = exc.message(g.language)
        else:
            return redirect(url_for("web.staff_notebook", group=group["id"], done="notebook_written"), code=303)
    return render_template(
        "staff_notebook.html", groups=staff_groups(), group=group, children=group_children(group["id"]),
        error_message=error_message, available=UNAVAILABLE,
    ), 400 if error_message else 200
