"""Live experiments: which members a running experiment scores by another configuration (numbers only).

A member takes part when their id is above the experiment's ``first_member_id`` (they joined after it started);
a participant is in variant B when ``split_bucket(experiment, member) < split_cut(share)``, else in A. The bucket
is the first four bytes of md5("<experiment id>:<member id>") read as an unsigned integer, modulo BUCKETS:
stable across processes and machines (unlike Python's hash()), and computable by PostgreSQL's md5() inside the
scoring statement (store.postgres), so both backends put every member in the same variant. MD5 serves here as a
well-mixed deterministic hash, not for security.
"""
from __future__ import annotations

import hashlib

BUCKETS = 10_000
A, B = "A", "B"


def split_bucket(experiment_id: int, member_id: int) -> int:
    """The member's bucket in 0..BUCKETS-1 for this experiment."""
    digest = hashlib.md5(f"{experiment_id}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % BUCKETS


def split_cut(share: float) -> int:
    """Buckets below this go to B: ``share`` of them, to the nearest bucket."""
    return round(min(1.0, max(0.0, share)) * BUCKETS)


def variant_of(*, experiment_id: int, first_member_id: int, share: float, member_id: int) -> str | None:
    """"A" or "B" for a member taking part (id above ``first_member_id``), None for a member who does not."""
    if member_id <= first_member_id:
        return None
    return B if split_bucket(experiment_id, member_id) < split_cut(share) else A
