"""Schemathesis's coverage and fuzzing phases over every API operation, in process (WSGI) on the test database.

Not part of `make test` (the file name is outside pytest's `test_*.py` pattern, so only `make fuzz`, a step of
`.ci/run`, collects it). tests/community_scoring/api/test_schemathesis.py is the quick run inside the suite:
a few positive examples per operation. Here, per operation:
- the coverage phase: schemathesis's deterministic boundary and negative cases (missing, wrong-typed and
  out-of-range values, bodies of the wrong type, unexpected methods);
- the fuzzing phase: FUZZ_EXAMPLES random cases, positive and negative, derandomized so a failure reproduces.
No response may be a 5xx, use an undocumented status code or content type, or break its documented schema (an
unexpected method must answer 405 with Allow). Failures of every operation are collected and reported together.
Two passes: every operation with an admin token (the forum API answers it 403), then the forum API as a signed-in
member (session cookie and CSRF token), past its permission check. Built on schemathesis's own test builder and
coverage generator (create_test, generate_coverage_cases): pinned in requirements.txt, 4.3.10.

Budget: FUZZ_EXAMPLES (environment, default 25) random cases per operation, and at most COVERAGE_PER_KIND
coverage cases of each kind (schemathesis describes each case; the members list alone has 32,767 "all required
and k optional parameters" combinations): a few minutes in all.
"""
import os
import traceback

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase
from referencing.exceptions import Unresolvable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig, HypothesisTestMode, create_test, generate_coverage_cases,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance, unsupported_method,
)

from community_scoring.services.tokens import token_issue
from forum_integration.services import forum
from settings.wsgi import application
from tests.community_scoring.api.conftest import community  # noqa: F401  (a fixture: members with scores)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          unsupported_method]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# Drawing the nested configuration document is slow (~2 s a fuzzing example): fewer of them.
FEWER_EXAMPLES = {"PUT /api/v1/config/interest/": 5, "POST /api/v1/config/interest/preview/": 5}


FORMS = {"multipart/form-data", "application/x-www-form-urlencoded"}


def unsendable(case) -> bool:
    """A form body that is not an object (negative generation makes them): werkzeug's test client cannot encode
    it, so no request would reach the app."""
    return (case.media_type or "").split(";")[0] in FORMS and case.body is not None and not isinstance(case.body, dict)


COVERAGE_PER_KIND = int(os.environ.get("FUZZ_COVERAGE_PER_KIND", "4"))
ONLY = os.environ.get("FUZZ_ONLY", "")  # e.g. "PATCH /api/v1/config/influence/": run the operations it names


def coverage_cases(schema, operation, headers: dict) -> list:
    """Schemathesis's coverage cases for `operation` (what its coverage phase sends), at most COVERAGE_PER_KIND
    of each description, picked evenly through the kind, so the boundaries and negatives of every parameter stay."""
    phase = schema.config.phases_for(operation=operation).coverage
    generation = schema.config.generation_for(operation=operation)
    kinds: dict[str, list] = {}
    for case in generate_coverage_cases(
        operation=operation, generation_modes=generation.modes, auth_storage=None,
        as_strategy_kwargs={"headers": headers}, generation_config=generation,
        generate_duplicate_query_parameters=phase.generate_duplicate_query_parameters,
        unexpected_methods=phase.unexpected_methods,
    ):
        kinds.setdefault(case.meta.phase.data.description or "", []).append(case)
    picked = []
    for cases in kinds.values():
        step = max(1, len(cases) / COVERAGE_PER_KIND)
        picked += [cases[int(i * step)] for i in range(min(len(cases), COVERAGE_PER_KIND))]
    return picked


def _generator_failed(exc: BaseException) -> bool:
    """schemathesis 4.3's negative mutations can fail to resolve the references it bundles itself
    ('/x-bundled/schema5' does not exist): its own error while drawing a case, not an answer of the app."""
    seen = exc
    while seen is not None:
        if isinstance(seen, Unresolvable):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def fuzz(operations, headers: dict) -> None:
    """Coverage and fuzzing cases for each operation, sent with `headers`; every failure reported at the end."""
    schema = operations[0].schema
    failures: list[str] = []
    calls = {"n": 0}

    def call(case):
        if unsendable(case):
            return
        # A savepoint per request: like autocommit in production, one request's DB error cannot poison the next.
        with transaction.atomic():
            response = case.call(headers=headers)
        calls["n"] += 1
        case.validate_response(response, checks=CHECKS)

    operations = [op for op in operations if not ONLY or f"{op.method.upper()} {op.path}" in ONLY.split("|")]
    for operation in operations:
        key = f"{operation.method.upper()} {operation.path}"
        settings = hypothesis.settings(
            max_examples=FEWER_EXAMPLES.get(key, FUZZ_EXAMPLES), deadline=None, database=None, derandomize=True,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
        )
        test = create_test(operation=operation, test_func=call, config=HypothesisTestConfig(
            project=schema.config, modes=[HypothesisTestMode.FUZZING], settings=settings,
            as_strategy_kwargs={"headers": headers},
        ))
        for case in coverage_cases(schema, operation, headers):
            test = hypothesis.example(case=case)(test)
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, report them together
            if _generator_failed(exc):
                print(f"\nfuzz: {key}: schemathesis could not draw a case ({exc.__class__.__name__}); the cases "
                      f"drawn before it were checked")
                continue
            failures.append(f"{key}: {exc}"[:3000] if "Schemathesis" in str(exc) else
                            f"{key}: {''.join(traceback.format_exception(exc))[-3000:]}")
    print(f"\nfuzz: {len(operations)} operations, {calls['n']} requests, {len(failures)} operations failing")
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_every_operation_holds_with_an_admin_token(community, keep_test_connection):  # noqa: F811
    _, raw = token_issue(name="fuzz", role="admin")
    headers = {"Authorization": f"Token {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 37  # the scoring API, ingest and the forum API (403 to a token)
    fuzz(operations, headers)


@pytest.mark.django_db
def test_the_forum_api_holds_for_a_signed_in_member(keep_test_connection):
    """The forum's views past their permission check: a Django user's session (and CSRF token), some posts."""
    user = get_user_model().objects.create_user(username="fuzz", password="pw")
    client = Client()
    client.force_login(user)
    author = forum.forum_member_for_user(user=get_user_model().objects.create_user(username="author"))
    category = forum.forum_category_create(name="api")
    question = forum.forum_question_create(author=author, category=category, title="Paging?")
    forum.forum_answer_create(author=author, question=question, body="Cursors.")
    forum.forum_poll_create(author=author, category=category, title="Which?", choices=["a", "b"])
    csrf = get_random_string(32)
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", "X-CSRFToken": csrf}
    _, raw = token_issue(name="schema", role="admin")
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application,
                                            headers={"Authorization": f"Token {raw}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/forum/")]
    assert len(operations) >= 10
    fuzz(operations, headers)
