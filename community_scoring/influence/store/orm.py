"""The plain Django backend of the influence store: ORM queries on any database (SQLite in development).

One Python object per row, which is fine at the sizes such a database holds; the PostgreSQL backend replaces
the hot paths. Both are tested against each other (tests/community_scoring/influence/test_store.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from typing import Iterator

import numpy as np
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum

from community_scoring.influence import formula
from community_scoring.influence.models import InfluenceEdge, InfluenceScore, InfluenceSnapshot, TextSentiment
from community_scoring.influence.store.base import InfluenceStore, TextRow, score_fields, snapshot_fields
from community_scoring.models import Action, Member
from community_scoring.store.base import counted_actions  # the edges that count: the actions that count


class OrmInfluenceStore(InfluenceStore):
    def member_ids(self) -> np.ndarray:
        return np.sort(np.fromiter(Member.objects.filter(merged_into__isnull=True).values_list("id", flat=True), dtype=np.int64))

    def excluded_member_ids(self) -> np.ndarray:
        return np.sort(np.fromiter(Member.objects.filter(is_excluded=True).values_list("id", flat=True),
                                   dtype=np.int64))

    def inbound_decay_sums(self, *, member_id: int, types: list[str], ref_time: datetime, half_life_days: float
                           ) -> list[tuple[int, str, int, float]]:
        rows = list(counted_actions().filter(target_member_id=member_id, action_type_id__in=types)
                    .exclude(member_id=member_id).values_list("member_id", "action_type_id", "occurred_at"))
        t = np.fromiter((when.timestamp() for _, _, when in rows), dtype=np.float64, count=len(rows))
        decay = formula.edge_decay(t, ref_epoch=ref_time.timestamp(), half_life_days=half_life_days)
        sums: dict[tuple[int, str], list] = {}
        for (source, kind, _), d in zip(rows, decay):
            entry = sums.setdefault((source, kind), [0, 0.0])
            entry[0] += 1
            entry[1] += float(d)
        return [(source, kind, n, total) for (source, kind), (n, total) in sorted(sums.items())]

    def action_rows(self, *, types: list[str], max_member_id: int) -> dict[str, np.ndarray]:
        kind_of = {t: k for k, t in enumerate(types)}
        rows = list(
            counted_actions().filter(target_member__isnull=False, action_type_id__in=types)
            .exclude(member_id=F("target_member_id"))
            .values_list("member_id", "target_member_id", "action_type_id", "occurred_at")
        )
        n = len(rows)
        return {
            "src": np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
            "dst": np.fromiter((r[1] for r in rows), dtype=np.int64, count=n),
            "kind": np.fromiter((kind_of[r[2]] for r in rows), dtype=np.int16, count=n),
            "t": np.fromiter((r[3].timestamp() for r in rows), dtype=np.float64, count=n),
        }

    def texts_last_scored(self) -> int:
        return TextSentiment.objects.aggregate(last=Max("action_id"))["last"] or 0

    def texts_unscored(self, *, text_types: list[str], after_id: int, scored_up_to: int, limit: int
                       ) -> list[TextRow]:
        scored = TextSentiment.objects.filter(action_id=OuterRef("pk"))
        return list(
            Action.objects.filter(id__gt=after_id, action_type_id__in=text_types)
            .exclude(text="")
            .filter(Q(id__gt=scored_up_to) | ~Exists(scored))
            .order_by("id")
            .values_list("id", "text", "member_id", "target_member_id", "occurred_at")[:limit]
        )

    def sentiments_add(self, *, rows: list[TextRow], compounds: np.ndarray) -> None:
        TextSentiment.objects.bulk_create(
            [TextSentiment(action_id=r[0], compound=float(v), member_id=r[2], target_member_id=r[3],
                           occurred_at=r[4]) for r, v in zip(rows, compounds)],
            ignore_conflicts=True,
        )

    def sentiment_totals(self, *, window_start: datetime, received: bool, positive: float, negative: float
                         ) -> dict[str, np.ndarray]:
        who = "target_member_id" if received else "member_id"
        texts = TextSentiment.objects.filter(occurred_at__gte=window_start, member_id__isnull=False)
        if received:
            texts = texts.filter(target_member_id__isnull=False).exclude(target_member_id=F("member_id"))
        rows = list(
            texts.values(who)
            .annotate(total=Sum("compound"), n=Count("pk"), pos=Count("pk", filter=Q(compound__gte=positive)),
                      neg=Count("pk", filter=Q(compound__lte=negative)))
            .values_list(who, "total", "n", "pos", "neg")
        )
        kinds = {"member": np.int64, "total": np.float64, "n": np.int64, "pos": np.int64, "neg": np.int64}
        return {name: np.array([r[k] for r in rows], dtype=kind) for k, (name, kind) in enumerate(kinds.items())}

    def scores_read(self, *, run_id: int) -> dict[str, np.ndarray]:
        rows = list(InfluenceScore.objects.filter(run_id=run_id).values_list("member_id", "centrality", "is_advocate"))
        return {
            "member": np.array([r[0] for r in rows], dtype=np.int64),
            "centrality": np.array([r[1] for r in rows], dtype=np.float64),
            "is_advocate": np.array([r[2] for r in rows], dtype=bool),
        }

    def scores_write(self, *, run_id: int, member_ids: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        if len(member_ids) == 0:
            return
        fields = score_fields()
        objs = []
        for i in range(len(member_ids)):
            values = {}
            for field in fields:
                value = scores[field.name][i].item()
                values[field.name] = None if field.null and value != value else value
            objs.append(InfluenceScore(run_id=run_id, member_id=int(member_ids[i]), **values))
        InfluenceScore.objects.bulk_create(objs, batch_size=2000)

    def inbound_edges_write(self, *, run_id: int, edges: dict[str, np.ndarray], action_types: list[str]) -> None:
        InfluenceEdge.objects.bulk_create(
            [InfluenceEdge(run_id=run_id, member_id=member, source_id=source, action_type_id=action_types[kind],
                           actions=actions, weight=weight)
             for member, source, kind, actions, weight in zip(
                edges["member"].tolist(), edges["source"].tolist(), edges["action_type"].tolist(),
                edges["actions"].tolist(), edges["weight"].tolist())],
            batch_size=2000,
        )

    def snapshots_write(self, *, run_id: int, day: date, member_ids: np.ndarray, scores: dict[str, np.ndarray]
                        ) -> None:
        fields = [f.name for f in snapshot_fields()]
        objs = [
            InfluenceSnapshot(member_id=int(member_ids[i]), day=day, run_id=run_id,
                              **{name: scores[name][i].item() for name in fields})
            for i in range(len(member_ids))
        ]
        InfluenceSnapshot.objects.bulk_create(objs, batch_size=2000, update_conflicts=True,
                                              unique_fields=["member", "day"], update_fields=["run", *fields])

    def scores_publish(self, *, run_id: int) -> None:
        """Nothing to do: rows written in the transaction become readable with its commit."""

    def scores_delete(self, *, run_ids: list[int]) -> int:
        InfluenceEdge.objects.filter(run_id__in=run_ids).delete()
        deleted, _ = InfluenceScore.objects.filter(run_id__in=run_ids).delete()
        return deleted

    @contextmanager
    def recompute_lock(self) -> Iterator[bool]:
        """No lock: a development database runs one recompute at a time in practice."""
        yield True
