"""The unit page's forms for staff: people and occupancy (shape only; the rules live in
portal.core.residents)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.core.people import RELATION_LABELS
from portal.core.places import OCCUPANCY_LABELS


class ResidentForm(FlaskForm):
    """A person joins the unit as owner, tenant or family member from a date."""

    name = StringField(
        lazy_pgettext("person", "Name"), validators=[DataRequired(), Length(max=100)]
    )
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32)])
    relation = SelectField(
        _l("Relation"),
        choices=[SelectChoice(r.value, label) for r, label in RELATION_LABELS.items()],
    )
    start_on = DateField(_l("From (default: today)"), validators=[Optional()])
    submit = SubmitField(_l("Add the resident"))


class EndResidencyForm(FlaskForm):
    """The last day of a residency."""

    on = DateField(_l("Last day"), validators=[DataRequired()])
    submit = SubmitField(_l("End the residency"))


class PhoneForm(FlaskForm):
    """A corrected phone number."""

    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32)])
    submit = SubmitField(_l("Correct the phone"))


class OccupancyForm(FlaskForm):
    """The unit's occupancy category from a date on."""

    occupancy = SelectField(
        _l("Occupancy"),
        choices=[SelectChoice(o.value, label) for o, label in OCCUPANCY_LABELS.items()],
    )
    effective_on = DateField(lazy_pgettext("occupancy change", "From"), validators=[DataRequired()])
    submit = SubmitField(_l("Change the occupancy"))
