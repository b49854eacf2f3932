from django.urls import path, register_converter

from partnercredit.validators import KeyPathConverter
from reports import views

register_converter(KeyPathConverter, "key")

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("home/", views.home_page, name="home"),
    path("partners/<key:key>/projection/", views.projection_page, name="projection"),
    path("standings/", views.standings, name="standings"),
    path("standings.csv", views.standings_export, {"fmt": "csv"}, name="standings_csv"),
    path("standings.xlsx", views.standings_export, {"fmt": "xlsx"}, name="standings_xlsx"),
    path("partners/<key:key>/", views.partner_page, name="partner"),
    path("clients/<key:hub_id>/", views.client_page, name="client"),
    path("why/", views.why, name="why"),
    path("recompute/", views.recompute_now, name="recompute"),
]
