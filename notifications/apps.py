from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from notifications.middleware import on_login
        from partnercredit.labels import labels_translate

        labels_translate()
        user_logged_in.connect(on_login, dispatch_uid="notifications-language")
