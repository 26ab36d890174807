"""A resident's own way in from the sign-in page: activate an imported account, or reset a
forgotten password, with a code sent by SMS (contracts §7).

Each flow has two steps: the phone number (a code is sent when the number is on record —
the page says the same either way), then the code and the new password twice, which signs
the person in. The JSON API offers the same (api/views.py) and shares these limits.
"""

import math
import re

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from portal.blueprints.auth import services
from portal.blueprints.auth.views import bp, too_many_attempts
from portal.core import codes
from portal.core.accounts import MIN_PASSWORD
from portal.core.errors import ServiceError
from portal.extensions import db, limiter
from portal.security import retry_after_seconds, sign_in_limits, start_session, wait_message

PHONE_PATTERN = r"^\+?[0-9][0-9\s-]{3,30}$"
SENT_TO = "account_code_phone"  # the session's {purpose: phone} a code was asked for
# Codes asked for, per phone and per client address; every request counts (the answer is
# the same whether a code went out). Deployments may set them in the configuration.
CODE_PHONE_RATE_LIMIT = "5 per hour"
CODE_ADDRESS_RATE_LIMIT = "20 per hour"


def _submitted(field: str):
    """A field of the posted form or JSON body."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body.get(field) if isinstance(body, dict) else None
    return request.form.get(field)


def code_request_limits(field: str):
    """Limit code requests per client address and per phone (named in `field`, form or
    JSON): CODE_ADDRESS_RATE_LIMIT and CODE_PHONE_RATE_LIMIT, shared by the pages and the
    API so that moving between them gains nothing."""
    per_address = limiter.shared_limit(
        lambda: current_app.config.get("CODE_ADDRESS_RATE_LIMIT", CODE_ADDRESS_RATE_LIMIT),
        scope="account-code-address",
        methods=["POST"],
    )
    per_phone = limiter.shared_limit(
        lambda: current_app.config.get("CODE_PHONE_RATE_LIMIT", CODE_PHONE_RATE_LIMIT),
        scope="account-code-phone",
        key_func=lambda: "phone:" + (re.sub(r"\D", "", str(_submitted(field) or "")) or "-"),
        methods=["POST"],
    )
    return lambda view: per_address(per_phone(view))


class PhoneForm(FlaskForm):
    """The phone number on record."""

    phone = StringField(
        _l("Mobile phone number"),
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(PHONE_PATTERN, message=_l("Enter a mobile phone number.")),
        ],
        render_kw={"autocomplete": "tel", "inputmode": "tel", "type": "tel", "autofocus": True},
    )
    submit = SubmitField(_l("Send me a code"))


class ActivatePhoneForm(PhoneForm):
    """Activation: a printed letter's code needs no SMS."""

    have_code = SubmitField(_l("I have a code from a letter"))


class CodeForm(FlaskForm):
    """The code from the SMS and the new password, twice."""

    phone = HiddenField()
    code = StringField(
        _l("Code from the SMS"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*[0-9]{6}\s*$", message=_l("The code is six digits.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "maxlength": 6,
            "autofocus": True,
        },
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ActivateCodeForm(CodeForm):
    submit = SubmitField(_l("Activate and sign in"))


class ResetCodeForm(CodeForm):
    submit = SubmitField(_l("Change password and sign in"))


FLOWS = {
    codes.ACTIVATE: {
        "template": "auth/activate.html",
        "phone_form": ActivatePhoneForm,
        "form": ActivateCodeForm,
        "redeem": codes.activate,
        "done": _l("Your account is active. Welcome!"),
    },
    codes.RESET: {
        "template": "auth/reset.html",
        "phone_form": PhoneForm,
        "form": ResetCodeForm,
        "redeem": codes.reset_password,
        "done": _l("Your password has been changed. Other devices have been signed out."),
    },
}


@bp.route("/activate", methods=["GET", "POST"])
@code_request_limits("phone")
def activate():
    """Activate an imported resident's account: ask for a code by SMS."""
    return _ask_phone(codes.ACTIVATE)


@bp.route("/activate/code", methods=["GET", "POST"])
@sign_in_limits("phone", counts=lambda response: response.status_code != 302)
def activate_code():
    """Activate an account: the code from the SMS and a password of one's own."""
    return _enter_code(codes.ACTIVATE)


@bp.route("/reset", methods=["GET", "POST"])
@code_request_limits("phone")
def reset():
    """Reset a forgotten password: ask for a code by SMS."""
    return _ask_phone(codes.RESET)


@bp.route("/reset/code", methods=["GET", "POST"])
@sign_in_limits("phone", counts=lambda response: response.status_code != 302)
def reset_code():
    """Reset a password: the code from the SMS and a new password."""
    return _enter_code(codes.RESET)


def _ask_phone(purpose: str):
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = FLOWS[purpose]["phone_form"]()
    if request.method == "GET" and request.args.get("phone"):
        form.phone.data = request.args["phone"][:32]  # an activation letter's link names it
    if form.validate_on_submit():
        phone = codes.normalize_phone(form.phone.data)
        if not getattr(form, "have_code", None) or not form.have_code.data:
            services.request_code(phone, purpose)
            db.session.commit()
            flash(_code_sent_message(), "info")
        session[SENT_TO] = {**session.get(SENT_TO, {}), purpose: phone}
        return redirect(url_for(f"auth.{purpose}_code"))
    return render_template(
        FLOWS[purpose]["template"], form=form, step="phone"
    ), 400 if form.errors else 200


def _code_sent_message():
    minutes = int(codes.CODE_VALIDITY.total_seconds() // 60)
    return _l(
        "If this number is on record, a six-digit code is on its way to it by SMS. "
        "It is valid for %(n)d minutes.",
        n=minutes,
    )


def _enter_code(purpose: str):
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    phone = session.get(SENT_TO, {}).get(purpose)
    if not phone:
        return redirect(url_for(f"auth.{purpose}"))
    flow = FLOWS[purpose]
    form = flow["form"]()
    if request.method == "GET":
        form.phone.data = phone
    if form.validate_on_submit():
        try:
            user = flow["redeem"](form.phone.data, form.code.data.strip(), form.password.data)
        except ServiceError as exc:
            db.session.commit()  # a wrong code's try counts; nothing else was written
            field = next(iter(exc.fields), "code")
            getattr(form, field if field in ("code", "password") else "code").errors.append(
                str(exc.message)
            )
        else:
            db.session.commit()
            start_session(user)
            login_user(user)
            session.pop(SENT_TO, None)
            flash(flow["done"], "success")
            return redirect(url_for("home.index"))
    return render_template(
        flow["template"], form=form, step="code", phone=phone, min_length=MIN_PASSWORD
    ), 400 if form.errors else 200


@bp.errorhandler(RateLimitExceeded)
def too_many_requests(exc):
    """Too many codes asked for or tried: say so on the page, with how long to wait; the
    sign-in form's own refusal stays as auth.views has it."""
    purpose = {
        "auth.activate": codes.ACTIVATE,
        "auth.activate_code": codes.ACTIVATE,
        "auth.reset": codes.RESET,
        "auth.reset_code": codes.RESET,
    }.get(request.endpoint)
    if purpose is None:
        return too_many_attempts(exc)
    if request.endpoint.endswith("_code"):
        blocked = wait_message()
        form, step = FLOWS[purpose]["form"](), "code"
    else:
        minutes = math.ceil(retry_after_seconds() / 60)
        blocked = ngettext(
            "Too many codes asked for. Please wait %(num)d minute and try again.",
            "Too many codes asked for. Please wait %(num)d minutes and try again.",
            minutes,
        )
        form, step = FLOWS[purpose]["phone_form"](), "phone"
    phone = session.get(SENT_TO, {}).get(purpose)
    return render_template(
        FLOWS[purpose]["template"],
        form=form,
        step=step,
        phone=phone,
        min_length=MIN_PASSWORD,
        blocked=blocked,
    ), 429
