"""`model_labels`: rewrite partnercredit/model_labels.py, the model labels for makemessages."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from partnercredit.labels import labels_of_our_models

HEADER = '''"""The labels of our models, for `makemessages` (written by `python manage.py model_labels`;
tests/test_i18n.py checks that it is complete). Never imported."""

from django.utils.translation import gettext_noop

LABELS = [
'''


class Command(BaseCommand):
    help = "Write partnercredit/model_labels.py: every label of our models, for makemessages."

    def handle(self, *args: object, **options: object) -> None:
        labels = sorted(labels_of_our_models())
        body = "".join(f"    gettext_noop({label!r}),\n" for label in labels)
        path = Path(settings.BASE_DIR) / "partnercredit" / "model_labels.py"
        path.write_text(HEADER + body + "]\n")
        self.stdout.write(f"{len(labels)} labels written to {path}.")
