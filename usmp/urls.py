from django.contrib import admin
from django.urls import include, path

from appointments import views as agenda_views
from dossiers import urls as dossiers_urls
from usmp.core import views as core_views

admin.site.site_header = "Cloison"
admin.site.site_title = "Cloison"

urlpatterns = [
    path("", agenda_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("accounts/", include("usmp.accounts.urls")),
    # Anonymous users on the login page may switch language too.
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("patients/", include("dossiers.urls")),
    path("agenda/", include("appointments.urls")),
    path("record-requests/", include("disclosures.urls")),
    path("bridge/", include("bridge.urls")),
    path("certificates/", include("certificates.urls")),
    path("transfers/", include("transfers.urls")),
    path("coordination/", include(dossiers_urls.coordination_patterns)),
    path("coordination/audit/", include("oversight.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "usmp.core.views.bad_request"
handler403 = "usmp.core.views.permission_denied"
handler404 = "usmp.core.views.page_not_found"
handler500 = "usmp.core.views.server_error"
