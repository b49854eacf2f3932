from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("settings/", views.preferences, name="preferences"),
    path("language/", views.language_switch, name="language"),
]
