"""The header's estate switcher."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, NumberRange


class EstateSwitchForm(FlaskForm):
    """Which estate a company-wide user acts for, and the page to go back to."""

    estate = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=2**31 - 1)])
    next = HiddenField()
