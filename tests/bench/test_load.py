"""bench/load.py's arithmetic: how many users give the offered rate, and which answers count as the steady rate."""
from argparse import Namespace

from bench.load import kinds_report, rates_answered, users_plan


def test_users_plan_gives_the_offered_rate_with_an_interval_of_headroom_each():
    plan = users_plan(Namespace(events_per_second=2000, batch_size=200, ingest_interval=4.0, reads_per_second=50,
                                read_interval=2.0))
    assert plan == {"ingest": (40, 0.25), "read": (100, 0.5)}  # 10 batches/s over 40 users; 50 reads/s over 100
    assert users_plan(Namespace(events_per_second=0, batch_size=200, ingest_interval=4.0, reads_per_second=3,
                                read_interval=2.0)) == {"ingest": (0, 0.0), "read": (6, 0.5)}


def test_kinds_report_counts_the_steady_window_apart_from_the_edges():
    # 100 s from the first request (t=0) to the last answer (t=100): the edges are 5 s each, so answers between
    # t=5 and t=95 count. Ingest answers at 2, 50 and 100 (200 events each); reads at 10 and 96.
    timings = [
        ["ingest", 0.0, 2000.0, 200, ""],
        ["ingest", 49.0, 1000.0, 200, ""],
        ["ingest", 99.5, 500.0, 200, ""],
        ["audience", 9.9, 100.0, 0, ""],
        ["leaderboard:interest", 95.9, 100.0, 0, "HTTP 500"],
    ]
    kinds, first, last = kinds_report(timings)
    assert (first, last) == (0.0, 100.0)
    assert kinds["ingest"]["created"] == 600 and kinds["ingest"]["steady_created"] == 200
    assert kinds["ingest"]["steady_seconds"] == 90.0
    assert kinds["all reads"]["ms"] == [100.0, 100.0] and kinds["all reads"]["steady"] == 1
    assert kinds["all reads"]["errors"] == ["HTTP 500"] and kinds["leaderboard:interest"]["errors"] == ["HTTP 500"]


def test_rates_are_what_was_answered_over_the_schedule_and_say_how_late_the_last_answer_came():
    # a 100 s schedule: 3 batches of 200 events and 2 reads answered, the last answer 1.5 s after the schedule's end
    timings = [
        ["ingest", 0.0, 2000.0, 200, ""],
        ["ingest", 49.0, 1000.0, 200, ""],
        ["ingest", 100.5, 1000.0, 200, ""],
        ["audience", 9.9, 100.0, 0, ""],
        ["leaderboard:interest", 95.9, 100.0, 0, ""],
    ]
    kinds, first, last = kinds_report(timings)
    assert rates_answered(kinds, first=first, last=last, seconds=100) == (6.0, 0.02, 1.5)
    reads_only, first, last = kinds_report(timings[3:])
    assert rates_answered(reads_only, first=first, last=last, seconds=100) == (0.0, 0.02, 0.0)


def test_a_batch_resent_after_a_closed_connection_is_neither_a_read_nor_an_error():
    # the first attempt got no answer (the server closed the kept-alive connection): recorded as "ingest: resent",
    # its resend as "ingest" with the events it created
    timings = [
        ["ingest: resent", 10.0, 1.0, 0, ""],
        ["ingest", 10.001, 300.0, 200, ""],
        ["audience", 20.0, 50.0, 0, ""],
    ]
    kinds, _, _ = kinds_report(timings)
    assert kinds["all reads"]["ms"] == [50.0]
    assert kinds["ingest"]["created"] == 200 and not kinds["ingest"]["errors"]
    assert len(kinds["ingest: resent"]["ms"]) == 1 and not kinds["ingest: resent"]["errors"]
