"""Error reports never carry what the user typed (POST values, local variables)."""

import sys

from django.test import RequestFactory
from django.views.debug import ExceptionReporter


def test_error_report_masks_post_data_and_locals():
    # Built at run time: the report shows source lines, which must not count as a leak.
    secret = "".join(["Confi", "dentiel"])
    request = RequestFactory().post("/patients/new/", {"last_name": secret})
    try:
        last_name = secret  # a local variable holding plaintext when the error occurs
        raise ValueError("boom")
    except ValueError:
        exc_type, exc_value, tb = sys.exc_info()
    reporter = ExceptionReporter(request, exc_type, exc_value, tb)
    html, text = reporter.get_traceback_html(), reporter.get_traceback_text()
    assert last_name not in html and last_name not in text
    assert "last_name" in text  # the key is shown, its value is not
