"""Query-string parameters of the report pages. Invalid values fall back to the defaults."""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

# A report day must leave room for the days the pages compute around it (the day after, the
# next recalibration, 90 days of projection): later days are invalid and fall back.
LAST_REPORT_DAY = date(9990, 12, 31)


class ReportDateField(forms.DateField):
    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and value > LAST_REPORT_DAY:
            raise forms.ValidationError(_("No report covers that day."))


class DayForm(forms.Form):
    date = ReportDateField(required=False)


class StandingsForm(DayForm):
    tier = forms.CharField(required=False, max_length=40)
    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    sort = forms.CharField(required=False, max_length=20)


class RangeForm(forms.Form):
    start = ReportDateField(required=False)
    end = ReportDateField(required=False)

    @classmethod
    def from_query(cls, data: dict) -> "RangeForm":
        """`?from=&to=`: `from` is a Python keyword, so the fields are renamed."""
        return cls({"start": data.get("from", ""), "end": data.get("to", "")})


class WhyForm(DayForm):
    partner = forms.CharField(required=False, max_length=32, label=_("Partner key"))
    client = forms.CharField(required=False, max_length=32, label=_("Client hub id"))
    employee = forms.CharField(required=False, max_length=254, label=_("Employee email"))


def cleaned(form: forms.Form, name: str, default: object = None) -> object:
    """The cleaned value of a field, or `default` when missing or invalid."""
    if not form.is_valid():
        value = form.data.get(name)
        field = form.fields[name]
        try:
            return field.clean(value) or default
        except forms.ValidationError:
            return default
    return form.cleaned_data.get(name) or default


def as_text(form: forms.Form, name: str, default: str = "") -> str:
    """The cleaned text of a CharField, or `default`."""
    value = cleaned(form, name, default)
    return value if isinstance(value, str) else default


def as_date(form: forms.Form, name: str = "date") -> date | None:
    return cleaned(form, name)  # type: ignore[return-value]
