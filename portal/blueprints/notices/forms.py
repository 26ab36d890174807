"""Notice forms: shape only; the audience and times are checked by the service."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.inputs import coerce_id
from portal.notify.models import CHANNEL_LABELS, Channel


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NoticeForm(FlaskForm):
    """Compose a notice."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)])
    body = TextAreaField(
        _l("Text"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 8}
    )
    zones = SelectMultipleField(_l("Zones"), coerce=coerce_id, validate_choice=False)
    buildings = SelectMultipleField(_l("Buildings"), coerce=coerce_id, validate_choice=False)
    # Unit ids, comma-separated (from "send a notice to this unit"); only ASCII digits.
    units = HiddenField(
        validators=[
            Optional(),
            Length(max=2000),
            Regexp(r"^[0-9]{1,10}(,[0-9]{1,10})*$", message=_l("Choose the units again.")),
        ]
    )
    channels = MultiCheckboxField(
        _l("Channels"),
        choices=[SelectChoice(c.value, CHANNEL_LABELS[c]) for c in Channel],
        default=[Channel.app.value],
    )
    urgent = BooleanField(_l("Urgent (outage, emergency): sent at once, even at night"))
    requires_ack = BooleanField(_l("Ask households to confirm they have read it"))
    send_at = DateTimeLocalField(
        _l("Send at (leave empty to send now)"), validators=[Optional()], format="%Y-%m-%dT%H:%M"
    )
    submit = SubmitField(_l("Send notice"))


class PrintForm(FlaskForm):
    """Print the notice for one building."""

    building = SelectField(
        _l("Building"), coerce=coerce_id, validate_choice=False, validators=[InputRequired()]
    )
    submit = SubmitField(_l("Make the PDF"))


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""

    submit = SubmitField(_l("Confirm"))
