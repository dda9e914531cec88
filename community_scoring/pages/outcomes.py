"""The admin's outcomes upload: a CSV file of outcomes fed to the one intake service, with a result per row.

Thin: the file goes to outcomes.services.upload (which reads it and records each row through outcomes_record);
a file that cannot be read is a message on the page, never an error page. Admins only.
"""
from __future__ import annotations

from collections import Counter

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from community_scoring.models import ApiToken
from community_scoring.outcomes.services.upload import (
    CSV_BYTES_MAX, CSV_COLUMNS, CSV_ROWS_MAX, OutcomeFileError, outcomes_csv_record,
)
from community_scoring.pages.access import role_required


@require_http_methods(["GET", "POST"])
@role_required(ApiToken.Role.ADMIN)
def outcomes_upload(request):
    """GET: the form. POST: record the file's outcomes and show created / duplicate / rejected per row."""
    context = {"columns": CSV_COLUMNS, "rows_max": CSV_ROWS_MAX, "megabytes_max": CSV_BYTES_MAX // (1024 * 1024),
               "results": None, "error": None, "counts": None}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise OutcomeFileError("choose a CSV file to upload")
            if upload.size > CSV_BYTES_MAX:
                raise OutcomeFileError(f"the file is larger than {context['megabytes_max']} MB")
            results = outcomes_csv_record(data=upload.read(), recorded_by=request.user.get_username())
        except OutcomeFileError as error:
            context["error"], status = str(error), 400
        else:
            context["results"] = results
            context["counts"] = Counter(r.status for r in results)
            context["file_name"] = upload.name
    return render(request, "community_scoring/settings/outcomes_upload.html", context, status=status)
