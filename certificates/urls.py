from django.urls import path

from . import views

app_name = "certificates"

_request = "patients/<uuid:patient_id>/requests/<uuid:request_id>/"

urlpatterns = [
    path("patients/<uuid:patient_id>/", views.patient_requests, name="patient"),
    path("patients/<uuid:patient_id>/requests/", views.request_add, name="request_add"),
    path(_request, views.request_detail, name="request_detail"),
    path(_request + "issue/", views.request_issue, name="request_issue"),
    path(_request + "refuse/", views.request_refuse, name="request_refuse"),
    path(_request + "pdf/", views.certificate_pdf, name="pdf"),
    path("register/", views.register, name="register"),
    path("types/", views.types, name="types"),
]
