"""Model, field and app labels in the language of the page, without a migration per label.

Our models name most fields by their attribute (`joined_at` → "joined at") and give a few an
explicit `verbose_name`, `help_text` or choices. Marking each in the model with `gettext_lazy` would add
`verbose_name=` to about a hundred fields — a migration for every app, for text that is not in
the database. Instead, once the models are loaded, each label of our apps is replaced by its
lazy translation here; `model_labels.py` lists them for `makemessages`, and
tests/test_i18n.py fails when a label of our models is missing from the Italian catalogue.
"""

from typing import Any

from django.apps import apps
from django.utils import translation
from django.utils.translation import gettext_lazy

OUR_APPS = ("accounts", "credits", "notifications")


def _lazy(text: Any) -> Any:
    """The English text as a lazy translation. A text may already be lazy: Django's default
    plural name is `format_lazy("{}s", name)` of the English name, so it is read in English."""
    return gettext_lazy(str(text)) if text else text


def our_models() -> list:
    """Our apps' models, without simple-history's copies (their names are already lazy)."""
    return [
        model
        for label in OUR_APPS
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical")
    ]


def labels_translate() -> None:
    """Called once from an app's `ready()`: make every label of our models translatable."""
    with translation.override("en"):
        _translate_all()


def _translate_all() -> None:
    for label in OUR_APPS:
        config = apps.get_app_config(label)
        config.verbose_name = _lazy(config.verbose_name)
    for model in our_models():
        opts = model._meta
        opts.verbose_name = _lazy(opts.verbose_name)
        opts.verbose_name_plural = _lazy(opts.verbose_name_plural)
        for field in opts.get_fields():
            if hasattr(field, "verbose_name"):
                field.verbose_name = _lazy(field.verbose_name)
            if getattr(field, "help_text", ""):
                field.help_text = _lazy(field.help_text)
            if getattr(field, "choices", None):
                field.choices = [(value, _lazy(text)) for value, text in field.choices]


def labels_of_our_models() -> set[str]:
    """Every app, model and field label, help text and choice of our apps, in English."""
    with translation.override("en"):
        return _english_labels()


def _english_labels() -> set[str]:
    found = {str(apps.get_app_config(label).verbose_name) for label in OUR_APPS}
    for model in our_models():
        opts = model._meta
        found |= {str(opts.verbose_name), str(opts.verbose_name_plural)}
        for field in opts.get_fields():
            texts = [getattr(field, "verbose_name", ""), getattr(field, "help_text", "")]
            texts += [text for _, text in getattr(field, "choices", None) or []]
            found |= {str(text) for text in texts if text}
    return found
