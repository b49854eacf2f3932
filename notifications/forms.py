"""The notification settings of one person."""

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from notifications.models import Kind, NotificationPreference


class PreferenceForm(forms.Form):
    """One checkbox per kind the person may receive, and their language."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The language of my browser"))] + list(settings.LANGUAGES),
    )

    def __init__(
        self, data: QueryDict | None, *, kinds: list[str], preference: NotificationPreference
    ) -> None:
        initial: dict[str, object] = {kind: preference.wants(kind) for kind in kinds}
        initial["language"] = preference.language
        super().__init__(data, initial=initial)
        for kind in kinds:
            field = NotificationPreference._meta.get_field(kind)
            self.fields[kind] = forms.BooleanField(
                label=Kind(kind).label, required=False, help_text=getattr(field, "help_text", "")
            )
        self.kinds = kinds
