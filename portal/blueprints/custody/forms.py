"""The desk's forms for cards, meter readings and keys (shape only; the rules live in
services.py, which says what is wrong in the user's words)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.blueprints.custody.models import CARD_KIND_LABELS, METER_LABELS, PURPOSE_LABELS

PHOTO = {"accept": "image/*", "data-max-count": 1, "capture": "environment"}


class IssueCardsForm(FlaskForm):
    """One or more cards of a kind issued to the unit."""

    numbers = StringField(
        _l("Card numbers (separate several with spaces)"),
        validators=[DataRequired(), Length(max=400)],
    )
    kind = SelectField(
        _l("Kind of card"), choices=[SelectChoice(k.value, v) for k, v in CARD_KIND_LABELS.items()]
    )
    on = DateField(_l("Issued on"), validators=[DataRequired()])
    submit = SubmitField(_l("Issue the cards"))


class ReturnCardsForm(FlaskForm):
    """Cards handed back at the desk."""

    numbers = StringField(
        _l("Card numbers (separate several with spaces)"),
        validators=[DataRequired(), Length(max=400)],
    )
    on = DateField(_l("Returned on"), validators=[DataRequired()])
    submit = SubmitField(_l("Take the cards back"))


class LostCardForm(FlaskForm):
    on = DateField(_l("Lost on"), validators=[DataRequired()])
    submit = SubmitField(_l("Report the card lost"))


class ReplaceCardForm(FlaskForm):
    number = StringField(_l("New card number"), validators=[DataRequired(), Length(max=40)])
    on = DateField(_l("Issued on"), validators=[DataRequired()])
    charge = BooleanField(_l("Bill the card replacement fee"))
    submit = SubmitField(_l("Issue a replacement card"))


class ReadingsForm(FlaskForm):
    """The unit's meters read on a day; a meter left blank is not read."""

    purpose = SelectField(
        _l("Reading for"), choices=[SelectChoice(p.value, v) for p, v in PURPOSE_LABELS.items()]
    )
    on = DateField(_l("Read on"), validators=[DataRequired()])
    water = StringField(METER_LABELS["water"], validators=[Optional(), Length(max=20)])
    water_photo = FileField(_l("Photo of the water meter"), render_kw=PHOTO)
    electricity = StringField(METER_LABELS["electricity"], validators=[Optional(), Length(max=20)])
    electricity_photo = FileField(_l("Photo of the electricity meter"), render_kw=PHOTO)
    gas = StringField(METER_LABELS["gas"], validators=[Optional(), Length(max=20)])
    gas_photo = FileField(_l("Photo of the gas meter"), render_kw=PHOTO)
    submit = SubmitField(_l("Record the readings"))


class TakeKeysForm(FlaskForm):
    """A set of keys the centre takes into custody."""

    label = StringField(
        _l("Key-set label (the tag on the ring)"), validators=[DataRequired(), Length(max=100)]
    )
    count = IntegerField(
        _l("Number of keys"), validators=[DataRequired(), NumberRange(min=1, max=99)]
    )
    name = StringField(_l("Left by (name)"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Their phone"), validators=[Optional(), Length(max=32)])
    on = DateField(_l("Taken in on"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Take the keys into custody"))


class LendKeysForm(FlaskForm):
    name = StringField(
        lazy_pgettext("person", "Lent to (name)"), validators=[DataRequired(), Length(max=100)]
    )
    phone = StringField(_l("Their phone"), validators=[DataRequired(), Length(max=32)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    due_on = DateField(_l("Due back by (that evening)"), validators=[DataRequired()])
    submit = SubmitField(_l("Lend the keys"))


class TakeBackKeysForm(FlaskForm):
    submit = SubmitField(_l("The keys are back"))


class HandOverKeysForm(FlaskForm):
    name = StringField(
        _l("Handed to (the owner's name)"), validators=[DataRequired(), Length(max=100)]
    )
    phone = StringField(_l("Their phone"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Hand the keys over"))
