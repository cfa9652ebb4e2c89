from django.contrib import admin
from django.urls import include, path

from usmp.core import views as core_views

admin.site.site_header = "Cloison"
admin.site.site_title = "Cloison"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include("usmp.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/", include("dossiers.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "usmp.core.views.bad_request"
handler403 = "usmp.core.views.permission_denied"
handler404 = "usmp.core.views.page_not_found"
handler500 = "usmp.core.views.server_error"
