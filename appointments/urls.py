from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.day, name="day"),
    path("print/", views.day_print, name="day_print"),
    path("week/", views.week, name="week"),
    path("patient/<uuid:patient_id>/", views.patient, name="patient"),
    path(
        "patient/<uuid:patient_id>/prevention/",
        views.prevention_open,
        name="prevention_open",
    ),
    path("book/", views.book, name="book"),
    path("slots/", views.slots, name="slots"),
    path("validate/", views.validate, name="validate"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<uuid:care_request_id>/close/", views.request_close, name="request_close"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<uuid:task_id>/handover/", views.visit_handover, name="visit_handover"),
    path("report/", views.report, name="report"),
    path("report/pdf/", views.report_pdf, name="report_pdf"),
    path("setup/", views.setup, name="setup"),
    path("setup/<slug:kind>/new/", views.setup_edit, name="setup_create"),
    path("setup/<slug:kind>/<int:pk>/", views.setup_edit, name="setup_edit"),
    path("<uuid:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path("<uuid:appointment_id>/move/", views.appointment_move, name="appointment_move"),
    path("<uuid:appointment_id>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("<uuid:appointment_id>/outcome/", views.appointment_outcome, name="appointment_outcome"),
]
