from django.urls import path

from . import views

app_name = "disclosures"

_request = "patients/<uuid:patient_id>/<uuid:request_id>/"

urlpatterns = [
    path("", views.register, name="register"),
    path("patients/<uuid:patient_id>/", views.patient_requests, name="patient_requests"),
    path(_request, views.request_detail, name="request_detail"),
    path(_request + "sent/", views.request_send, name="request_send"),
    path(_request + "refuse/", views.request_refuse, name="request_refuse"),
    path(_request + "mandate/", views.mandate, name="mandate"),
    path(_request + "copy/", views.record_copy, name="record_copy"),
]
