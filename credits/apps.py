from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credit"

    def ready(self) -> None:
        # The upload admin registers itself; the import task must be known to workers.
        from credits import admin_imports, import_tasks  # noqa: F401
