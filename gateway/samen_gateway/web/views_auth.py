"""Login, logout and password-reset pages."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from samen_common.errors import InvalidInput, TooManyRequests, Unauthorized
from samen_gateway.context import rpc
from samen_gateway.web import bp, portal

MAX_FIELD = 1024


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_path = portal.safe_next(request.values.get("next"))
    if g.portal_session is not None and request.method == "GET":
        return redirect(next_path)
    error = None
    account_number = ""
    if request.method == "POST":
        account_number = request.form.get("account_number", "").strip()[:64]
        password = request.form.get("password", "")[:MAX_FIELD]
        remember_me = request.form.get("remember_me") == "on"
        if not account_number or not password:
            error = "login.missing"
        else:
            try:
                tokens = rpc("accounts", "login", account_number, password, remember_me)
            except Unauthorized:
                error = "login.invalid"
            except TooManyRequests as exc:
                return render_template(
                    "login.html", error_message=exc.message(g.language), account_number=account_number,
                    next_path=next_path,
                ), 429
            else:
                portal.start_session(tokens, remember_me)
                return redirect(next_path, code=303)
    status = 401 if error == "login.invalid" else 400 if error else 200
    return render_template("login.html", error=error, account_number=account_number, next_path=next_path), status


@bp.post("/logout")
def logout():
    if g.portal_session is not None:
        rpc("accounts", "logout", g.portal_session["refresh_token"])
    portal.end_session()
    return redirect(url_for("web.login", logged_out=1), code=303)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    sent = False
    if request.method == "POST":
        account_number = request.form.get("account_number", "").strip()[:64]
        if account_number:
            # The reply is the same whether or not the account exists, so the page reveals nothing.
            rpc("accounts", "request_password_reset", account_number)
            sent = True
    return render_template("forgot_password.html", sent=sent)


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    token = request.values.get("token", "")[:200]
    error_message = None
    if request.method == "POST":
        password = request.form.get("new_password", "")[:MAX_FIELD]
        repeat = request.form.get("repeat_password", "")[:MAX_FIELD]
        if password != repeat:
            error_message = portal_text("password.mismatch")
        else:
            try:
                rpc("accounts", "confirm_password_reset", token, password)
            except InvalidInput as exc:
                error_message = exc.message(g.language)
            else:
                return redirect(url_for("web.login", reset=1), code=303)
    if not token:
        error_message = error_message or portal_text("reset.token_missing")
    status = 400 if error_message and request.method == "POST" else 200
    return render_template("reset_password.html", token=token, error_message=error_message), status


def portal_text(key: str) -> str:
    from samen_gateway.web.texts import translate

    return translate(key, g.language)
