"""The influence store's interface: every database access of the influence engine that is not a plain ORM
query, with one backend per kind of database (store/__init__.py picks one)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import date, datetime

import numpy as np
from django.db.models import Field

from community_scoring.influence.models import InfluenceScore, InfluenceSnapshot

# One stored text to score: (action id, text, author id, target member id or None, occurred_at).
TextRow = tuple[int, str, int, "int | None", datetime]


def score_fields() -> list[Field]:
    """InfluenceScore's per-member values: every concrete field but the key, the run and the member."""
    return [f for f in InfluenceScore._meta.concrete_fields if not f.primary_key and f.name not in ("run", "member")]


def snapshot_fields() -> list[Field]:
    """InfluenceSnapshot's per-member values, each named as the InfluenceScore field it copies."""
    return [f for f in InfluenceSnapshot._meta.concrete_fields
            if not f.primary_key and f.name not in ("member", "day", "run")]


class InfluenceStore(ABC):
    """Reads and writes of one influence recompute, arrays in and out."""

    @abstractmethod
    def member_ids(self) -> np.ndarray:
        """Every member's id, sorted (int64)."""

    @abstractmethod
    def excluded_member_ids(self) -> np.ndarray:
        """The ids of excluded (staff) members, sorted (int64): never flagged advocate or detractor."""

    @abstractmethod
    def inbound_decay_sums(self, *, member_id: int, types: list[str], ref_time: datetime, half_life_days: float
                           ) -> list[tuple[int, str, int, float]]:
        """Per (source member, action type) of the actions of `types` others did to `member_id`: how many, and
        the sum of their decays at ref_time (formula.edge_decay). Summed in the database, so a member who
        received a hundred thousand actions costs one grouped query, not a row each."""

    @abstractmethod
    def action_rows(self, *, types: list[str], max_member_id: int) -> dict[str, np.ndarray]:
        """Every action of `types` on a target member other than the actor, as arrays: src and dst (member ids,
        int64), kind (index into `types`, int16) and t (seconds since the epoch, float64). Row order is free.
        `max_member_id` is the highest member id the caller knows of."""

    @abstractmethod
    def texts_last_scored(self) -> int:
        """The highest action id whose text has a TextSentiment (0 when none has)."""

    @abstractmethod
    def texts_unscored(self, *, text_types: list[str], after_id: int, scored_up_to: int, limit: int
                       ) -> list[TextRow]:
        """Up to `limit` non-blank texts of `text_types` with action id > after_id, in id order, that have no
        TextSentiment (ids above `scored_up_to` are taken as unscored without checking)."""

    @abstractmethod
    def sentiments_add(self, *, rows: list[TextRow], compounds: np.ndarray) -> None:
        """Store the compound of each row's text, with the action's author, target and time copied alongside.
        A row that another run stored meanwhile is left as it is."""

    @abstractmethod
    def sentiment_totals(self, *, window_start: datetime, received: bool, positive: float, negative: float
                         ) -> dict[str, np.ndarray]:
        """Per member with texts since `window_start`: member (id), total (sum of compounds), n, pos (compounds
        >= positive) and neg (<= negative). received=False: texts the member wrote; True: texts others wrote on
        the member or their content."""

    @abstractmethod
    def scores_read(self, *, run_id: int) -> dict[str, np.ndarray]:
        """The run's scores: member (id), centrality and is_advocate (bool), one entry per scored member."""

    @abstractmethod
    def scores_write(self, *, run_id: int, member_ids: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        """Write a run's scores: `scores` maps each of score_fields() by name to one value per member (NaN in a
        nullable float is NULL). Called inside the transaction that marks the run done."""

    @abstractmethod
    def inbound_edges_write(self, *, run_id: int, edges: dict[str, np.ndarray], action_types: list[str]) -> None:
        """Write a run's kept inbound edges (InfluenceEdge): `edges` maps member, source (ids), action_type (an
        index into `action_types`), actions and weight to one value per edge. Called inside the transaction that
        marks the run done, after scores_write; scores_publish makes them readable and scores_delete deletes them
        with the scores."""

    @abstractmethod
    def snapshots_write(self, *, run_id: int, day: date, member_ids: np.ndarray, scores: dict[str, np.ndarray]
                        ) -> None:
        """Upsert each member's snapshot of `day` from the run's scores (as given to scores_write, which has run
        first in the same transaction): a later run on the same day replaces the day's values."""

    @abstractmethod
    def scores_publish(self, *, run_id: int) -> None:
        """The last statement of that transaction: make the written scores readable with it."""

    @abstractmethod
    def scores_delete(self, *, run_ids: list[int]) -> int:
        """Delete the scores and inbound edges of these runs; returns how many score rows were deleted (where the
        backend counts them)."""

    @abstractmethod
    def recompute_lock(self) -> AbstractContextManager[bool]:
        """Held while a recompute runs: yields False when another recompute holds it (then do nothing)."""
