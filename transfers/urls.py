from django.urls import path

from . import views

app_name = "transfers"

urlpatterns = [
    path("partners/", views.partners, name="partners"),
    path("partners/<int:unit_id>/deactivate/", views.partner_deactivate, name="partner_deactivate"),
    path("patients/<uuid:patient_id>/<str:compartment>/", views.prepare, name="prepare"),
    path("import/", views.upload, name="upload"),
    path("import/<str:digest>/", views.confirm, name="import_confirm"),
    path("imports/<uuid:import_id>/", views.result, name="import_result"),
]
