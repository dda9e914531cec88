"""Numpy arrays to and from the database without a Python object per row.

On PostgreSQL both directions use COPY in the binary format, parsed and built with numpy structured dtypes
(every column fixed-width and, when read, never NULL). Other databases (SQLite in development) fall back to
the DB-API, which is fine at their sizes.
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from django.db import connection

# PostgreSQL type -> big-endian numpy type of its binary representation.
# timestamptz: int8 microseconds since 2000-01-01 UTC.
PG_BINARY = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "?", "timestamptz": ">i8"}
NATIVE = {"int2": np.int16, "int4": np.int32, "int8": np.int64, "float8": np.float64, "bool": np.bool_,
          "timestamptz": np.int64}
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class _Sink:
    """A write-only file for psycopg2's copy_expert: it calls write() once per row, so keep that call cheap."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.write = self.buffer.extend


def query_arrays(sql: str, params: Sequence, columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Run a SELECT whose columns have the given (name, pg type) and return one native numpy array per column.

    The query must not return NULLs (COALESCE them); types must match `columns` exactly (cast in SQL).
    """
    if not is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return {
            name: np.array([row[k] for row in rows], dtype=NATIVE[kind]) if rows else np.zeros(0, dtype=NATIVE[kind])
            for k, (name, kind) in enumerate(columns)
        }
    sink = _Sink()
    with connection.cursor() as cursor:
        inlined = cursor.mogrify(sql, params).decode() if params else sql
        cursor.copy_expert(f"COPY ({inlined}) TO STDOUT WITH (FORMAT binary)", sink)
    buf = memoryview(sink.buffer)
    if bytes(buf[:11]) != SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    ext_len = int.from_bytes(buf[15:19], "big")
    start = 19 + ext_len
    end = len(buf) - 2  # trailer: int16 -1
    fields = [("nfields", ">i2")]
    for name, kind in columns:
        fields += [(f"len_{name}", ">i4"), (name, PG_BINARY[kind])]
    dtype = np.dtype(fields)
    body = buf[start:end]
    if len(body) % dtype.itemsize:
        raise ValueError("unexpected row width: a column type does not match or a value is NULL")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (rows["nfields"] != len(columns)).any():
        raise ValueError("unexpected number of columns")
    for name, _ in columns:
        if len(rows) and (rows[f"len_{name}"] < 0).any():
            raise ValueError(f"column {name} has NULLs")
    result = {name: rows[name].astype(NATIVE[kind]) for name, kind in columns}
    del rows, body, buf
    sink.buffer.clear()
    return result


def copy_in(
    table: str,
    columns: Sequence[tuple[str, str, np.ndarray]],
    *,
    nulls: dict[str, np.ndarray] | None = None,
) -> int:
    """COPY rows into `table` (PostgreSQL only). columns: (name, pg type, values); nulls: name -> mask of NULLs.

    Rows are written grouped by their pattern of NULLs (each pattern is a fixed-width layout); COPY does not
    care about row order.
    """
    nulls = nulls or {}
    n = len(columns[0][2]) if columns else 0
    if n == 0:
        return 0
    null_names = [name for name, _, _ in columns if name in nulls]
    pattern = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(null_names):
        pattern |= np.asarray(nulls[name], dtype=np.int64) << bit
    out = io.BytesIO()
    out.write(SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00")
    for code in np.unique(pattern):
        rows_idx = np.flatnonzero(pattern == code)
        null_set = {name for bit, name in enumerate(null_names) if (int(code) >> bit) & 1}
        fields = [("nfields", ">i2")]
        for name, kind, _ in columns:
            fields.append((f"len_{name}", ">i4"))
            if name not in null_set:
                fields.append((name, PG_BINARY[kind]))
        block = np.empty(len(rows_idx), dtype=np.dtype(fields))
        block["nfields"] = len(columns)
        for name, kind, values in columns:
            if name in null_set:
                block[f"len_{name}"] = -1
            else:
                block[f"len_{name}"] = np.dtype(PG_BINARY[kind]).itemsize
                block[name] = np.asarray(values)[rows_idx]
        out.write(block.tobytes())
    out.write(b"\xff\xff")
    out.seek(0)
    names = ", ".join(name for name, _, _ in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT binary)", out)
    return n


class _ArrayRowSink:
    """Parses a binary COPY stream whose rows hold one-dimensional arrays, row by row as they arrive."""

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self.columns = columns
        self.buffer = bytearray()
        self.header_done = False
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in columns}

    def write(self, data) -> None:
        self.buffer += data
        pos = 0
        buf = self.buffer
        if not self.header_done:
            if len(buf) < 19:
                return
            if bytes(buf[:11]) != SIGNATURE:
                raise ValueError("not a PostgreSQL binary COPY stream")
            pos = 19 + int.from_bytes(buf[15:19], "big")
            self.header_done = True
        while True:
            end = self._row_end(buf, pos)
            if end is None:
                break
            if end < 0:  # trailer
                pos = len(buf)
                break
            self._parse_row(bytes(buf[pos:end]))
            pos = end
        del buf[:pos]

    def _row_end(self, buf, pos: int) -> int | None:
        if len(buf) - pos < 2:
            return None
        nfields = int.from_bytes(buf[pos:pos + 2], "big", signed=True)
        if nfields == -1:
            return -1
        pos += 2
        for _ in range(nfields):
            if len(buf) - pos < 4:
                return None
            length = int.from_bytes(buf[pos:pos + 4], "big", signed=True)
            pos += 4 + max(length, 0)
            if pos > len(buf):
                return None
        return pos

    def _parse_row(self, row: bytes) -> None:
        view = memoryview(row)
        pos = 2
        for name, kind in self.columns:
            length = int.from_bytes(view[pos:pos + 4], "big", signed=True)
            pos += 4
            if length < 0:
                raise ValueError(f"column {name} is NULL")
            ndim = int.from_bytes(view[pos:pos + 4], "big")
            if ndim == 0:
                self.parts[name].append(np.zeros(0, dtype=NATIVE[kind]))
            else:
                if ndim != 1 or int.from_bytes(view[pos + 4:pos + 8], "big"):
                    raise ValueError(f"column {name}: expected a one-dimensional array without NULLs")
                count = int.from_bytes(view[pos + 12:pos + 16], "big")
                elements = np.frombuffer(view[pos + 20:pos + length], dtype=[("len", ">i4"), ("v", PG_BINARY[kind])],
                                         count=count)
                self.parts[name].append(elements["v"].astype(NATIVE[kind]))
            pos += length


def query_array_columns(sql: str, params: Sequence, columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """PostgreSQL only: run a query whose rows are one-dimensional arrays (e.g. array_agg per bucket of ids)
    and return each column's arrays concatenated. Few, large rows keep per-row overhead out of the transfer
    and each row is parsed as soon as it arrives, so the raw stream is never held whole."""
    sink = _ArrayRowSink(columns)
    with connection.cursor() as cursor:
        inlined = cursor.mogrify(sql, params).decode() if params else sql
        cursor.copy_expert(f"COPY ({inlined}) TO STDOUT WITH (FORMAT binary)", sink)
    return {
        name: np.concatenate(sink.parts[name]) if sink.parts[name] else np.zeros(0, dtype=NATIVE[kind])
        for name, kind in columns
    }


def query_columns(sql: str, params: Sequence, columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Like query_arrays (same contract, row order not kept), but on PostgreSQL the result travels as one row of
    arrays (array_agg over the query), avoiding per-row COPY overhead. For results up to tens of millions."""
    if not is_postgresql():
        return query_arrays(sql, params, columns)
    aggregates = ", ".join(f"COALESCE(array_agg(q.{name}), '{{}}')" for name, _ in columns)
    return query_array_columns(f"SELECT {aggregates} FROM ({sql}) q", params, columns)
