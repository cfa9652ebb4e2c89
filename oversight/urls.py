from django.urls import path

from . import views

app_name = "oversight"

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("export.csv", views.audit_export, name="audit_export"),
    path("patients/", views.patient_report_lookup, name="patient_report_lookup"),
    path("patients/<uuid:patient_id>/", views.patient_report, name="patient_report"),
    path(
        "emergency-accesses/<uuid:access_id>/review/",
        views.break_glass_review_view,
        name="break_glass_review",
    ),
]
