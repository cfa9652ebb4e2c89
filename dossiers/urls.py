from django.urls import path

from . import views

app_name = "dossiers"

urlpatterns = [
    path("", views.patient_search, name="patient_search"),
    path("new/", views.patient_create, name="patient_create"),
    path("validate/", views.patient_validate, name="patient_validate"),
    path("<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("<uuid:patient_id>/edit/", views.patient_update, name="patient_update"),
]
