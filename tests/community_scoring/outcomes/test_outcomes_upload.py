"""Outcomes from the admin: the CSV upload page (/settings/outcomes/upload/: per-row results, a clear message for a
bad file, admins only) and the Django admin (listed, filtered, searched; adding one goes through the intake)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from community_scoring.models import InterestScore, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.upload import CSV_ROWS_MAX, OutcomeFileError, outcomes_csv_record
from tests.community_scoring.outcomes.conftest import T, engaged_member
from tests.factories import MemberFactory

URL = "/settings/outcomes/upload/"
HEADER = "source,outcome_id,type,occurred_at,external_id,email,crm_id,reason,value\n"
pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(client, django_user_model):
    def sign_in(role):
        if role == "admin":
            user = django_user_model.objects.create_superuser(username="root", password="x")
        else:
            from django.contrib.auth.models import Group

            user = django_user_model.objects.create_user(username=f"{role}-user", password="x")
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_login(user)
        return client
    return sign_in


def upload(client, text: str | bytes, name="outcomes.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def cells(html: str) -> list[list[str]]:
    """The results table as rows of cell texts (tags stripped)."""
    import re

    table = html[html.index('id="results"'):html.index("</table>", html.index('id="results"'))]
    rows = re.findall(r"<tr class=\"[a-z]+\">(.*?)</tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def test_an_admin_uploads_outcomes_and_sees_each_rows_result(as_role, config):
    ada = engaged_member(external_id="ada", email="ada@example.com")
    MemberFactory(source="crm", external_id="c-9", crm_id="0031x")
    text = HEADER + (
        "forum,o-1,sql,2026-03-01T12:00:00Z,ada,,,,\n"
        "crm,o-2,converted,2026-03-02T12:00:00Z,,,0031x,,499.90\n"
        "forum,o-1,sql,2026-03-01T12:00:00Z,ada,,,,\n"
        "crm,o-3,maybe,2026-03-02T12:00:00Z,,ADA@example.com,,,\n"
        "\n"
        "crm,o-4,won,2026-03-02T12:00:00Z,,nobody@example.com,,,\n"
        "crm,o-5,lost\n")
    response = upload(as_role("admin"), text)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 created, 1 duplicate, 3 rejected." in html
    rows = cells(html)
    assert [r[:3] for r in rows] == [["2", "o-1", "created"], ["3", "o-2", "created"], ["4", "o-1", "duplicate"],
                                     ["5", "o-3", "rejected"], ["7", "o-4", "rejected"], ["8", "o-5", "rejected"]]
    assert rows[3][3].startswith("type: unknown outcome type")
    assert rows[4][3] == "member: no member with that email"
    assert rows[5][3] == "non_field_errors: expected 9 cells as in the header, got 3"
    assert Outcome.objects.count() == 2
    assert str(Outcome.objects.get(outcome_id="o-2").amount) == "499.90"
    assert InterestScore.objects.get(member=ada).sales_stage == "SQL"
    assert Outcome.objects.get(outcome_id="o-1").recorded_by == "root"


def test_columns_may_come_in_any_order_and_only_one_member_key_is_needed(db):
    MemberFactory(source="crm", external_id="c-1")
    results = outcomes_csv_record(data=b"\xef\xbb\xbfType,occurred_at,external_id,Outcome_ID,source\n"
                                       b"converted,2026-03-01T12:00:00Z,c-1,o-1,crm\n")
    assert [(r.line, r.outcome_id, r.status) for r in results] == [(2, "o-1", "created")]


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"\n \n", "the file is empty"),
    (b"\xff\xfe\x00s\x00o", "the file is not UTF-8 text"),
    (b"source,outcome_id\x00,type\n", "the file contains NUL bytes"),
    (HEADER.encode(), "the file has a header but no outcomes"),
    (b"source,outcome_id,type,occurred_at,member\nx,y,sql,2026-01-01T00:00:00Z,z\n", "unknown column(s) 'member'"),
    (b"source,outcome_id,type,external_id\n", "missing column(s): occurred_at"),
    (b"source,outcome_id,type,occurred_at\n", "no member column"),
    (b"source,source,outcome_id,type,occurred_at,email\n", "column(s) named twice: source"),
    (b'source,outcome_id,type,occurred_at,email\n"a' + b"x" * 200_000 + b'"\n', "the file is not valid CSV"),
])
def test_a_bad_file_is_refused_as_a_whole_with_a_clear_message(db, data, message):
    with pytest.raises(OutcomeFileError) as error:
        outcomes_csv_record(data=data)
    assert str(error.value).startswith(message)


def test_too_many_rows(db):
    data = HEADER + "crm,o,sql,2026-03-01T12:00:00Z,x,,,,\n" * (CSV_ROWS_MAX + 1)
    with pytest.raises(OutcomeFileError, match=f"at most {CSV_ROWS_MAX:,} outcomes per file"):
        outcomes_csv_record(data=data.encode())
    assert not Outcome.objects.exists()


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"just some words", b"a,b\n1,2\n"])
def test_a_bad_upload_is_a_message_on_the_page_never_an_error_page(as_role, data):
    response = upload(as_role("admin"), data)
    assert response.status_code == 400
    assert "The file was not read:" in response.content.decode() and "Nothing was recorded" in response.content.decode()


def test_no_file_chosen(as_role):
    response = as_role("admin").post(URL, {})
    assert response.status_code == 400 and "choose a CSV file to upload" in response.content.decode()


def test_the_form(as_role):
    html = as_role("admin").get(URL).content.decode()
    assert 'enctype="multipart/form-data"' in html and "source</code>, <code>outcome_id" in html


@pytest.mark.parametrize("role", ["community_manager", "marketing", "ingest"])
def test_only_admins_may_upload(as_role, role):
    client = as_role(role)
    assert client.get(URL).status_code == 403
    MemberFactory(source="crm", external_id="c-1")
    assert upload(client, HEADER + "crm,o-1,sql,2026-03-01T12:00:00Z,c-1,,,,\n").status_code == 403
    assert not Outcome.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# ---- the Django admin ---------------------------------------------------------------------------------------------

ADD = "/admin/outcomes/outcome/add/"


def admin_form(member, **changes):
    form = {"source": "crm", "outcome_id": "o-1", "type": "opportunity", "occurred_at_0": "2026-03-01",
            "occurred_at_1": "12:00:00", "member": str(member.pk), "reason": "Demo booked", "value": ""}
    form.update(changes)
    return form


def test_adding_an_outcome_in_the_admin_goes_through_the_intake(as_role, config, settings):
    settings.TIME_ZONE = "UTC"
    ada = engaged_member(external_id="ada")
    alias = MemberFactory(source="crm", external_id="a")
    from community_scoring.services.identity import members_merge

    members_merge(into=ada.pk, others=[alias.pk])
    response = as_role("admin").post(ADD, admin_form(alias))
    assert response.status_code == 302, response.content.decode()[:2000]
    outcome = Outcome.objects.get()
    assert (outcome.member_id, outcome.identity_id, outcome.occurred_at, outcome.recorded_by) == (
        ada.pk, alias.pk, T, "root")
    assert InterestScore.objects.get(member=ada).sales_stage == "opportunity"
    assert StageTransition.objects.filter(member=ada, reason="opportunity", detail="Demo booked").exists()


def test_the_admin_form_shows_the_intakes_errors(as_role, config):
    ada = MemberFactory(source="crm", external_id="c-1")
    client = as_role("admin")
    response = client.post(ADD, admin_form(ada, occurred_at_0="2999-01-01", value="1e20"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "is in the future" in html and "amount out of range" in html
    client.post(ADD, admin_form(ada))
    again = client.post(ADD, admin_form(ada))
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert Outcome.objects.count() == 1


def test_the_admin_lists_filters_searches_and_deletes(as_role, config):
    ada = engaged_member(external_id="ada", display_name="Ada Lovelace")
    bob = MemberFactory(source="crm", external_id="bob", display_name="Bob Byte")
    client = as_role("admin")
    client.post(ADD, admin_form(ada, outcome_id="o-1", type="sql"))
    client.post(ADD, admin_form(bob, outcome_id="o-2", type="converted", source="product", value="trial"))
    listed = client.get("/admin/outcomes/outcome/").content.decode()
    assert "Ada Lovelace" in listed and "Bob Byte" in listed
    by_type = client.get("/admin/outcomes/outcome/?type__exact=converted").content.decode()
    assert "Bob Byte" in by_type and "Ada Lovelace" not in by_type
    by_source = client.get("/admin/outcomes/outcome/?source=crm").content.decode()
    assert "Ada Lovelace" in by_source and "Bob Byte" not in by_source
    searched = client.get("/admin/outcomes/outcome/?q=lovelace").content.decode()
    assert "Ada Lovelace" in searched and "Bob Byte" not in searched
    assert InterestScore.objects.get(member=ada).sales_stage == "SQL"
    sql = Outcome.objects.get(outcome_id="o-1")
    assert client.post(f"/admin/outcomes/outcome/{sql.pk}/delete/", {"post": "yes"}).status_code == 302
    assert InterestScore.objects.get(member=ada).sales_stage == ""
    assert client.get(f"/admin/outcomes/outcome/{Outcome.objects.get().pk}/change/").status_code == 200
