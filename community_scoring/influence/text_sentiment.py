"""Each action text's VADER sentiment scored once and stored (TextSentiment), and summed per member for a run.

The scoring itself is influence.sentiment (pure); the rows are the influence store's.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from community_scoring.influence.graph import ids_to_index
from community_scoring.influence.sentiment import NEGATIVE, POSITIVE, analyzer_get, compounds
from community_scoring.influence.store import InfluenceStore
from community_scoring.influence.store.base import TextRow


# Texts are scored in id order, so beyond the highest scored action id nothing is scored yet. Ids a little
# below it may belong to transactions that committed late; those are checked one by one.
LATE_COMMIT_MARGIN = 100_000


def sentiment_score_pending(*, store: InfluenceStore, text_types: list[str], batch_size: int = 20_000,
                            full: bool = False) -> int:
    """Score the action texts of `text_types` that have no TextSentiment yet; returns how many were scored.

    Reads from LATE_COMMIT_MARGIN ids below the highest scored action (full=True: from the start, to catch
    anything older), keyset-paged over the id, scored with one analyser and stored in bulk with the action's
    actor, target and time copied alongside. Safe to run concurrently with itself: a row another run stored
    first is skipped.
    """
    if not text_types:
        return 0
    analyzer = analyzer_get()
    total = 0
    scored_up_to = store.texts_last_scored()
    last_id = 0 if full else max(0, scored_up_to - LATE_COMMIT_MARGIN)
    while True:
        rows = store.texts_unscored(text_types=text_types, after_id=last_id, scored_up_to=scored_up_to,
                                    limit=batch_size)
        if not rows:
            return total
        count = len(rows)
        values = np.fromiter(compounds((r[1] for r in rows), analyzer), dtype=np.float64, count=count)
        last_id = int(rows[-1][0])
        store.sentiments_add(rows=rows, compounds=values)
        total += count
        if count < batch_size:
            return total


def sentiment_score_rows(*, store: InfluenceStore, rows: list[TextRow]) -> int:
    """Score these texts now, as the next run would (an erasure blanks texts and keeps their scores); returns
    how many were given."""
    if not rows:
        return 0
    values = np.fromiter(compounds((r[1] for r in rows), analyzer_get()), dtype=np.float64, count=len(rows))
    store.sentiments_add(rows=rows, compounds=values)
    return len(rows)


def sentiment_by_member(*, store: InfluenceStore, member_ids: np.ndarray, window_start: datetime,
                        received: bool) -> dict[str, np.ndarray]:
    """Per member (aligned with the sorted `member_ids`): sum, count, positive and negative counts of compounds.

    received=False: texts the member wrote; received=True: texts written by others on the member or their
    content. Only texts since `window_start`.
    """
    rows = store.sentiment_totals(window_start=window_start, received=received, positive=POSITIVE,
                                  negative=NEGATIVE)
    n = len(member_ids)
    out = {key: np.zeros(n, dtype=np.float64 if key == "total" else np.int64) for key in ("total", "n", "pos", "neg")}
    idx = ids_to_index(member_ids, rows["member"])
    ok = idx >= 0
    for key in out:
        out[key][idx[ok]] = rows[key][ok]
    return out
