from django.urls import path

from . import views

app_name = "dossiers"

_dossier = "<uuid:patient_id>/dossiers/<str:compartment>/"

urlpatterns = [
    path("", views.patient_search, name="patient_search"),
    path("new/", views.patient_create, name="patient_create"),
    path("validate/", views.patient_validate, name="patient_validate"),
    path("<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("<uuid:patient_id>/edit/", views.patient_update, name="patient_update"),
    path("<uuid:patient_id>/consents/", views.consents, name="consents"),
    path(
        "<uuid:patient_id>/consents/<uuid:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path("<uuid:patient_id>/rights/", views.patient_rights, name="patient_rights"),
    path("<uuid:patient_id>/merge/", views.patient_merge_view, name="patient_merge"),
    path(_dossier, views.dossier_detail, name="dossier_detail"),
    path(_dossier + "entries/new/", views.entry_create, name="entry_create"),
    path(_dossier + "entries/validate/", views.entry_validate, name="entry_validate"),
    path(_dossier + "entries/<uuid:entry_id>/", views.entry_history, name="entry_history"),
    path(_dossier + "entries/<uuid:entry_id>/correct/", views.entry_correct, name="entry_correct"),
    path(
        _dossier + "entries/<uuid:entry_id>/addendum/",
        views.entry_addendum,
        name="entry_addendum",
    ),
    path(_dossier + "documents/new/", views.document_upload, name="document_upload"),
    path(
        _dossier + "documents/<uuid:document_id>/",
        views.document_download,
        name="document_download",
    ),
    path(_dossier + "emergency/", views.break_glass, name="break_glass"),
    path(_dossier + "sharing/", views.dossier_sharing, name="dossier_sharing"),
]

coordination_patterns = (
    [path("emergency-accesses/", views.break_glass_list, name="break_glass_list")],
    "coordination",
)
