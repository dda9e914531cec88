"""The PostgreSQL backend of the influence store: every influence statement that is not plain ORM.

Arrays travel in PostgreSQL's binary COPY format (store/pgbinary.py), so no Python object is made per action,
edge or score. SQL is composed with psycopg2.sql; table and column names come from the models' _meta.

Scores and inbound edges: influence_influencescore and influence_influenceedge are partitioned by run (migrations
0004, 0008). A run's rows are copied into a fresh table with no index, its indexes are built in bulk, and the
table is attached as the run's partition as the last statement of the transaction that marks the run done;
pruning a run drops its partitions.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, datetime, timezone as dt_timezone
from typing import Iterator, Sequence

import numpy as np
from django.db import connection, models, transaction
from django.db.models import Index, Q, UniqueConstraint
from psycopg2 import sql

from community_scoring.influence import formula
from community_scoring.influence.models import InfluenceEdge, InfluenceScore, InfluenceSnapshot, TextSentiment
from community_scoring.influence.store.base import TextRow, score_fields, snapshot_fields
from community_scoring.influence.store.orm import OrmInfluenceStore
from community_scoring.influence.store.pgbinary import PG_EPOCH, ArrayRowsSink, RowsSink, copy_stream
from community_scoring.models import Action, ActionExclusion, ActionType, Member

LOCK_KEY = 0x1F1E_0004  # advisory lock: one recompute at a time
PG_EPOCH_DT = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
# Column type Django creates -> the binary COPY type of its values.
BINARY_TYPE = {"bigint": "int8", "integer": "int4", "smallint": "int2", "double precision": "float8",
               "boolean": "bool", "timestamp with time zone": "timestamptz"}
# The tables partitioned by run (LIST (run_id)), each with a DEFAULT partition for rows written through the ORM.
RUN_PARTITIONED = (InfluenceScore, InfluenceEdge)


def _table(model: type[models.Model]) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def _column(model: type[models.Model], name: str, alias: str | None = None) -> sql.Identifier:
    column = model._meta.get_field(name).column
    return sql.Identifier(alias, column) if alias else sql.Identifier(column)


def _counted(action_id: sql.Composable) -> sql.Composable:
    """`` AND`` the action is not excluded (models.ActionExclusion): the edges that count, as the interest
    store's counted_actions. The log-wide read adds it only when some action is excluded (normally none)."""
    return sql.SQL(" AND NOT EXISTS (SELECT 1 FROM {} x WHERE {} = {})").format(
        _table(ActionExclusion), _column(ActionExclusion, "action", "x"), action_id)


def _binary_type(field: models.Field) -> str:
    db_type = field.db_type(connection)
    return "text" if db_type.startswith("varchar") else BINARY_TYPE[db_type]


def _rows(query: sql.Composable, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _copy_out(query: sql.Composable, params: Sequence, sink) -> None:
    with connection.cursor() as cursor:
        inlined = cursor.mogrify(query, params or None).decode()
        cursor.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT binary)").format(sql.SQL(inlined)), sink)


def _query_arrays(query: sql.Composable, params: Sequence, columns: Sequence[tuple[str, str]]
                  ) -> dict[str, np.ndarray]:
    """Rows of a SELECT whose columns have the given (name, binary type), one native array per column.

    The query must not return NULLs (COALESCE them); types must match `columns` exactly (cast in SQL).
    """
    sink = RowsSink()
    _copy_out(query, params, sink)
    return sink.arrays(columns)


def _query_array_columns(query: sql.Composable, params: Sequence, columns: Sequence[tuple[str, str]]
                         ) -> dict[str, np.ndarray]:
    """A query whose rows are one-dimensional arrays (e.g. array_agg per range of ids): each column's arrays
    concatenated. Few, large rows keep per-row overhead out of the transfer."""
    sink = ArrayRowsSink(columns)
    _copy_out(query, params, sink)
    return sink.arrays()


def _query_columns(query: sql.Composable, params: Sequence, columns: Sequence[tuple[str, str]]
                   ) -> dict[str, np.ndarray]:
    """Like _query_arrays (row order not kept), but the result travels as one row of arrays (array_agg over the
    query), avoiding per-row COPY overhead. For results up to tens of millions."""
    aggregates = sql.SQL(", ").join(
        sql.SQL("COALESCE(array_agg({}), '{{}}')").format(sql.Identifier("q", name)) for name, _ in columns
    )
    return _query_array_columns(sql.SQL("SELECT {} FROM ({}) q").format(aggregates, query), params, columns)


def _copy_in(table: sql.Composable, columns: Sequence[tuple[str, str, np.ndarray]],
             nulls: dict[str, np.ndarray] | None = None) -> int:
    """COPY rows into `table`. columns: (column name, binary type, values); nulls: column name -> NULL mask."""
    n = len(columns[0][2]) if columns else 0
    if n == 0:
        return 0
    stream = copy_stream(columns, nulls=nulls)
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _, _ in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT binary)").format(table, names), stream)
    return n


class PostgresInfluenceStore(OrmInfluenceStore):
    """PostgreSQL: COPY and SQL for the hot paths. texts_last_scored is the plain ORM query it inherits."""

    def __init__(self, *, bucket_rows: int = 200_000) -> None:
        self.bucket_rows = bucket_rows  # action ids per row of arrays when reading the log

    def inbound_decay_sums(self, *, member_id: int, types: list[str], ref_time: datetime, half_life_days: float
                           ) -> list[tuple[int, str, int, float]]:
        # 2^((t - ref) / h), as formula.edge_decay, in float8 throughout (date_part is float8; extract(epoch)
        # is numeric since PostgreSQL 14: its arithmetic doubled the query for the bench's heaviest member).
        query = sql.SQL(
            "SELECT {member}, {kind}, count(*), "
            "sum(power(2.0::float8, (date_part('epoch', {at}) - %s) / %s)) FROM {action} "
            "WHERE {target} = %s AND {member} <> %s AND {kind} = ANY(%s){counted} GROUP BY 1, 2 ORDER BY 1, 2"
        ).format(member=_column(Action, "member"), kind=_column(Action, "action_type"),
                 at=_column(Action, "occurred_at"), target=_column(Action, "target_member"), action=_table(Action),
                 counted=_counted(sql.SQL("{}.{}").format(_table(Action), _column(Action, "id"))))
        with connection.cursor() as cursor:
            cursor.execute(query, [ref_time.timestamp(), half_life_days * formula.SECONDS_PER_DAY, member_id,
                                   member_id, list(types)])
            return [(source, kind, n, float(total)) for source, kind, n, total in cursor.fetchall()]

    def member_ids(self) -> np.ndarray:
        # Members, not the identities merged into them (services.identity): those act through their member.
        query = sql.SQL("SELECT {} AS id FROM {} WHERE {} IS NULL").format(
            _column(Member, "id"), _table(Member), _column(Member, "merged_into"))
        return np.sort(_query_columns(query, [], [("id", "int8")])["id"])

    def action_rows(self, *, types: list[str], max_member_id: int) -> dict[str, np.ndarray]:
        """One COPY streams a row per range of `bucket_rows` action ids (an index range scan each), each row
        holding that range as three arrays: the (actor, target) pair packed in one bigint, hashtext() of the
        type and the raw timestamp. Per-element output cost dominates at scale, so the server computes nothing
        it can leave to numpy; types and self-actions are filtered here."""
        key = _column(ActionType, "key")
        hashes = dict(_rows(sql.SQL("SELECT {key}, hashtext({key}) FROM {table}").format(key=key,
                                                                                        table=_table(ActionType))))
        wanted = np.array([hashes.get(t, 0) for t in types], dtype=np.int64)
        if len(set(hashes.values())) != len(hashes) or max_member_id >= 2**31:
            raise NotImplementedError("type hash collision or member ids beyond 2^31")  # not reached in practice
        action_id = _column(Action, "id")
        bounds = _rows(sql.SQL("SELECT COALESCE(MIN({id}), 0), COALESCE(MAX({id}), -1) FROM {action}").format(
            id=action_id, action=_table(Action)))[0]
        target = _column(Action, "target_member", "a")
        a_id = _column(Action, "id", "a")
        query = sql.SQL(
            "SELECT x.* FROM generate_series(%s::bigint, %s::bigint, %s::bigint) r(lo) CROSS JOIN LATERAL ("
            "SELECT COALESCE(array_agg(({member} << 32) | {target}), '{{}}') AS pair, "
            "COALESCE(array_agg(hashtext({kind})), '{{}}') AS kind, "
            "COALESCE(array_agg({occurred_at}), '{{}}') AS t "
            "FROM {action} a WHERE {id} >= r.lo AND {id} < r.lo + %s AND {target} IS NOT NULL{counted}"
            ") x"
        ).format(member=_column(Action, "member", "a"), target=target, kind=_column(Action, "action_type", "a"),
                 occurred_at=_column(Action, "occurred_at", "a"), action=_table(Action), id=a_id,
                 counted=_counted(a_id) if ActionExclusion.objects.exists() else sql.SQL(""))
        columns = [("pair", "int8"), ("kind", "int4"), ("t", "int8")]
        rows = _ranges_read(query, columns, first=int(bounds[0]), last=int(bounds[1]), step=self.bucket_rows)
        pair, type_hash, micros = rows.pop("pair"), rows.pop("kind"), rows.pop("t")
        kind = np.full(len(pair), -1, dtype=np.int16)
        for k, h in enumerate(wanted):
            kind[type_hash == h] = k
        del type_hash
        src = pair >> 32
        dst = pair & 0xFFFFFFFF
        keep = (kind >= 0) & (src != dst)
        return {"src": src[keep], "dst": dst[keep], "kind": kind[keep], "t": micros[keep] / 1e6 + PG_EPOCH}

    def texts_unscored(self, *, text_types: list[str], after_id: int, scored_up_to: int, limit: int
                       ) -> list[TextRow]:
        a_id = _column(Action, "id", "a")
        query = sql.SQL(
            "SELECT {id}, {text}, {member}, {target}, {occurred_at} FROM {action} a "
            # (type || '') keeps the planner on the id range: matching the type through the (target, type)
            # index means reading that whole index.
            "WHERE {id} > %s AND ({kind} || '') IN ({types}) AND {text} <> '' "
            "AND ({id} > %s OR NOT EXISTS (SELECT 1 FROM {sentiment} t WHERE {sentiment_action} = {id})) "
            "ORDER BY {id} LIMIT %s"
        ).format(id=a_id, text=_column(Action, "text", "a"), member=_column(Action, "member", "a"),
                 target=_column(Action, "target_member", "a"), occurred_at=_column(Action, "occurred_at", "a"),
                 action=_table(Action), kind=_column(Action, "action_type", "a"),
                 types=sql.SQL(", ").join(sql.Placeholder() * len(text_types)), sentiment=_table(TextSentiment),
                 sentiment_action=_column(TextSentiment, "action", "t"))
        return _rows(query, [after_id, *text_types, scored_up_to, limit])

    def sentiments_add(self, *, rows: list[TextRow], compounds: np.ndarray) -> None:
        count = len(rows)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
        authors = np.fromiter((r[2] for r in rows), dtype=np.int64, count=count)
        targets = np.fromiter((r[3] or 0 for r in rows), dtype=np.int64, count=count)
        micros = np.fromiter(((r[4] - PG_EPOCH_DT).total_seconds() * 1e6 for r in rows), dtype=np.float64,
                             count=count).round().astype(np.int64)
        values = {"action": ids, "compound": np.asarray(compounds, dtype=np.float64), "member": authors,
                  "target_member": targets, "occurred_at": micros}
        action = _column(TextSentiment, "action")
        with transaction.atomic():
            # A concurrent run may have stored some of these ids meanwhile: drop them from the batch.
            taken = _rows(sql.SQL("SELECT {action} FROM {table} WHERE {action} = ANY(%s)").format(
                action=action, table=_table(TextSentiment)), [ids.tolist()])
            keep = ~np.isin(ids, np.array([r[0] for r in taken], dtype=np.int64)) if taken else slice(None)
            fields = [TextSentiment._meta.get_field(name) for name in values]
            _copy_in(_table(TextSentiment), [(f.column, _binary_type(f), values[f.name][keep]) for f in fields],
                     nulls={_column_name(TextSentiment, "target_member"): targets[keep] == 0})

    def sentiment_totals(self, *, window_start: datetime, received: bool, positive: float, negative: float
                         ) -> dict[str, np.ndarray]:
        author, target = _column(TextSentiment, "member", "t"), _column(TextSentiment, "target_member", "t")
        who = target if received else author
        compound = _column(TextSentiment, "compound", "t")
        extra = sql.SQL("AND {target} IS NOT NULL AND {target} <> {author}").format(target=target, author=author)
        query = sql.SQL(
            "SELECT {who}::int8 AS member, SUM({compound})::float8 AS total, COUNT(*)::int8 AS n, "
            "SUM(CASE WHEN {compound} >= %s THEN 1 ELSE 0 END)::int8 AS pos, "
            "SUM(CASE WHEN {compound} <= %s THEN 1 ELSE 0 END)::int8 AS neg "
            "FROM {table} t WHERE {occurred_at} >= %s AND {author} IS NOT NULL {extra} GROUP BY {who}"
        ).format(who=who, compound=compound, table=_table(TextSentiment), author=author,
                 occurred_at=_column(TextSentiment, "occurred_at", "t"), extra=extra if received else sql.SQL(""))
        return _query_arrays(query, [positive, negative, window_start],
                             [("member", "int8"), ("total", "float8"), ("n", "int8"), ("pos", "int8"), ("neg", "int8")])

    def scores_read(self, *, run_id: int) -> dict[str, np.ndarray]:
        query = sql.SQL(
            "SELECT {member} AS member, {centrality}::float8 AS centrality, "
            "(CASE WHEN {advocate} THEN 1 ELSE 0 END)::int2 AS is_advocate FROM {table} WHERE {run} = %s"
        ).format(member=_column(InfluenceScore, "member"), centrality=_column(InfluenceScore, "centrality"),
                 advocate=_column(InfluenceScore, "is_advocate"), table=_table(InfluenceScore),
                 run=_column(InfluenceScore, "run"))
        rows = _query_columns(query, [run_id], [("member", "int8"), ("centrality", "float8"), ("is_advocate", "int2")])
        rows["is_advocate"] = rows["is_advocate"] == 1
        return rows

    def scores_write(self, *, run_id: int, member_ids: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        n = len(member_ids)
        if n == 0:
            return
        run, member = InfluenceScore._meta.get_field("run"), InfluenceScore._meta.get_field("member")
        columns = [(run.column, _binary_type(run), np.full(n, run_id, dtype=np.int64)),
                   (member.column, _binary_type(member), member_ids)]
        columns += [(f.column, _binary_type(f), scores[f.name]) for f in score_fields()]
        nulls = {f.column: np.isnan(scores[f.name]) for f in score_fields() if f.null}
        _run_rows_write(InfluenceScore, run_id, columns, nulls)

    def inbound_edges_write(self, *, run_id: int, edges: dict[str, np.ndarray], action_types: list[str]) -> None:
        n = len(edges["member"])
        if n == 0:
            return
        values = {**edges, "run": np.full(n, run_id, dtype=np.int64),
                  "action_type": np.asarray([t.encode() for t in action_types], dtype=np.bytes_)[edges["action_type"]]}
        fields = [f for f in InfluenceEdge._meta.concrete_fields if not f.primary_key]
        _run_rows_write(InfluenceEdge, run_id, [(f.column, _binary_type(f), values[f.name]) for f in fields])

    def snapshots_write(self, *, run_id: int, day: date, member_ids: np.ndarray, scores: dict[str, np.ndarray]
                        ) -> None:
        """One INSERT ... SELECT from the rows scores_write just wrote (the run's partition, not yet attached, or
        the plain table), upserting on (member, day)."""
        if len(member_ids) == 0:
            return
        source = (sql.Identifier(_partition_name(InfluenceScore, run_id)) if _partitioned(InfluenceScore)
                  else _table(InfluenceScore))
        names = [f.name for f in snapshot_fields()]
        conflict = next(c.fields for c in InfluenceSnapshot._meta.constraints if isinstance(c, UniqueConstraint))
        query = sql.SQL(
            "INSERT INTO {snapshot} ({member}, {day}, {run}, {columns}) "
            "SELECT {score_member}, %s::date, {score_run}, {score_columns} FROM {source} WHERE {score_run} = %s "
            "ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        ).format(
            snapshot=_table(InfluenceSnapshot), member=_column(InfluenceSnapshot, "member"),
            day=_column(InfluenceSnapshot, "day"), run=_column(InfluenceSnapshot, "run"),
            columns=sql.SQL(", ").join(_column(InfluenceSnapshot, name) for name in names),
            score_member=_column(InfluenceScore, "member"), score_run=_column(InfluenceScore, "run"),
            score_columns=sql.SQL(", ").join(_column(InfluenceScore, name) for name in names), source=source,
            conflict=sql.SQL(", ").join(_column(InfluenceSnapshot, name) for name in conflict),
            updates=sql.SQL(", ").join(
                sql.SQL("{col} = EXCLUDED.{col}").format(col=_column(InfluenceSnapshot, name))
                for name in ["run", *names]
            ),
        )
        with connection.cursor() as cursor:
            cursor.execute(query, [day, int(run_id)])

    def scores_publish(self, *, run_id: int) -> None:
        """Attach the run's partitions (scores, inbound edges). ATTACH locks the default partition, so readers wait
        for the commit that follows (milliseconds), never see half a run."""
        for model in RUN_PARTITIONED:
            if not _partitioned(model):
                continue
            part = _partition_name(model, run_id)
            if _rows(sql.SQL("SELECT to_regclass(%s)"), [part])[0][0] is None:  # an empty community wrote no rows
                continue
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                    _table(model), sql.Identifier(part), sql.Literal(int(run_id))))

    def scores_delete(self, *, run_ids: list[int]) -> int:
        """A run's own partitions are dropped whole; rows written through the ORM (the default partition, or a
        plain table) are deleted."""
        for model in RUN_PARTITIONED:
            if _partitioned(model):
                with connection.cursor() as cursor:
                    for run_id in run_ids:
                        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                            sql.Identifier(_partition_name(model, run_id))))
        return super().scores_delete(run_ids=run_ids)

    @contextmanager
    def recompute_lock(self) -> Iterator[bool]:
        acquired = bool(_rows(sql.SQL("SELECT pg_try_advisory_lock(%s)"), [LOCK_KEY])[0][0])
        try:
            yield acquired
        finally:
            if acquired:
                _rows(sql.SQL("SELECT pg_advisory_unlock(%s)"), [LOCK_KEY])


def _ranges_read(query: sql.Composable, columns: list[tuple[str, str]], *, first: int, last: int, step: int
                 ) -> dict[str, np.ndarray]:
    """Run `query` (parameters: first and last range start, step, step) over the id ranges first..last. With four
    ranges or more, outside a transaction, a second connection streams the upper half: the server work then runs
    on two cores."""
    starts = list(range(first, last + 1, step))
    if len(starts) < 4 or connection.in_atomic_block:
        return _query_array_columns(query, [first, last, step, step], columns)
    half = starts[len(starts) // 2]
    upper: dict[str, np.ndarray] = {}

    def read_upper() -> None:
        try:
            upper.update(_query_array_columns(query, [half, last, step, step], columns))
        finally:
            connection.close()

    other = threading.Thread(target=read_upper)
    other.start()
    lower = _query_array_columns(query, [first, half - 1, step, step], columns)
    other.join()
    if not upper:
        raise RuntimeError("reading the second half of the action log failed")
    return {name: np.concatenate([lower.pop(name), upper.pop(name)]) for name, _ in columns}


def _column_name(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).column


def _run_rows_write(model: type[models.Model], run_id: int, columns: Sequence[tuple[str, str, np.ndarray]],
                    nulls: dict[str, np.ndarray] | None = None) -> None:
    """COPY a run's rows of a table partitioned by run into a fresh table, build its indexes in bulk and prove its
    rows belong to the run, ready for scores_publish to attach; into the table itself where it is not
    partitioned."""
    if not _partitioned(model):
        _copy_in(_table(model), columns, nulls)
        return
    part = _partition_name(model, run_id)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(part)))
        cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
            sql.Identifier(part), _table(model)))
    _copy_in(sql.Identifier(part), columns, nulls)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in _partition_indexes(model, part):
            cursor.execute(statement)
        # Proves every row belongs to the partition, so ATTACH does not scan the table again.
        cursor.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} = {})").format(
            sql.Identifier(part), sql.Identifier(f"{part}_run"), _column(model, "run"), sql.Literal(int(run_id))))


def _partitioned(model: type[models.Model]) -> bool:
    query = sql.SQL("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s")
    return bool(_rows(query, [model._meta.db_table]))


def _partition_name(model: type[models.Model], run_id: int) -> str:
    return f"{model._meta.db_table}_r{int(run_id)}"


def _partition_indexes(model: type[models.Model], part: str) -> list[sql.Composable]:
    """The model's unique constraints and indexes, built on the partition before it is attached (ATTACH then
    adopts them instead of building its own)."""
    meta = model._meta
    statements = []
    for k, constraint in enumerate(c for c in meta.constraints if isinstance(c, UniqueConstraint)):
        columns = sql.SQL(", ").join(_column(model, name) for name in constraint.fields)
        statements.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})").format(
            sql.Identifier(part), sql.Identifier(f"{part}_unique{k or ''}"), columns))
    for k, index in enumerate(i for i in meta.indexes if isinstance(i, Index)):
        columns = sql.SQL(", ").join(
            sql.SQL("{} DESC").format(_column(model, name[1:])) if name.startswith("-") else _column(model, name)
            for name in index.fields
        )
        statements.append(sql.SQL("CREATE INDEX {} ON {} ({}){}").format(
            sql.Identifier(f"{part}_index{k or ''}"), sql.Identifier(part), columns, _index_condition(model, index)))
    return statements


def _index_condition(model: type[models.Model], index: Index) -> sql.Composable:
    """A partial index's WHERE, as Django writes it on the partitioned table (so ATTACH finds it the same). The
    conditions the models use: boolean fields that are true, all of them."""
    condition = index.condition
    if condition is None:
        return sql.SQL("")
    terms = condition.children
    if condition.negated or condition.connector != Q.AND or not all(
            isinstance(term, tuple) and term[1] is True and "__" not in term[0] for term in terms):
        raise ValueError(f"index {index.name}: only conditions of boolean fields that are true are built here")
    return sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(_column(model, name) for name, _ in terms))
