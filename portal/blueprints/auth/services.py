"""Account codes by SMS: the sign-in line's step over core/codes (core does not speak to
the outbox). Used by the activation and reset pages and by the API."""

from flask_babel import lazy_gettext as _l

from portal.core import codes
from portal.notify.outbox import tell


def request_code(phone, purpose: str) -> bool:
    """Send a code by SMS when the phone names someone for this purpose (codes.recipient);
    else do nothing. False when nothing was sent; the caller answers the same either way."""
    found = codes.recipient(phone, purpose)
    if found is None:
        return False
    user, estate = found
    code = codes.issue(user, purpose)
    minutes = int(codes.CODE_VALIDITY.total_seconds() // 60)

    def render():
        if purpose == codes.ACTIVATE:
            body = _l(
                "Your activation code is %(code)s, valid for %(n)d minutes. "
                "Do not share it with anyone.",
                code=code,
                n=minutes,
            )
        else:
            body = _l(
                "Your password reset code is %(code)s, valid for %(n)d minutes. "
                "Do not share it with anyone.",
                code=code,
                n=minutes,
            )
        return _l("Property service centre"), body

    # An account code is urgent: the person is waiting for it, whatever the hour.
    tell(
        user,
        kind=f"account_code_{purpose}",
        estate=estate,
        render=render,
        channels=("sms",),
        urgent=True,
    )
    return True
