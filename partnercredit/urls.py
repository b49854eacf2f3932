from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from partnercredit.health import healthz
from reports.views import login

admin.site.site_header = "partnercredit"
admin.site.site_title = "partnercredit"
admin.site.index_title = "Managed MRR credit"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="reports:home", permanent=False)),
    path("admin/login/", login, name="login"),  # the admin's login, landing on the home page
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("notifications/", include("notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
]
