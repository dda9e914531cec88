"""PostgreSQL's binary COPY format to and from numpy arrays, without a Python object per row. No database.

Rows are parsed and built with numpy structured dtypes: every column fixed-width and, when read, never NULL.
The PostgreSQL store (store/postgresql.py) runs the COPY statements; this module only encodes and decodes.
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

# Binary type name -> big-endian numpy type of its binary representation.
# timestamptz: int8 microseconds since 2000-01-01 UTC.
PG_BINARY = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "?", "timestamptz": ">i8"}
NATIVE = {"int2": np.int16, "int4": np.int32, "int8": np.int64, "float8": np.float64, "bool": np.bool_,
          "timestamptz": np.int64}
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
PG_EPOCH = 946_684_800.0  # 2000-01-01 UTC in seconds since 1970: binary timestamps count microseconds from here


class RowsSink:
    """A write-only file for psycopg2's copy_expert: it calls write() once per row, so keep that call cheap."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.write = self.buffer.extend

    def arrays(self, columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """The stream's rows (columns of the given (name, type)) as one native array per column."""
        buf = memoryview(self.buffer)
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
        self.buffer.clear()
        return result


class ArrayRowsSink:
    """Parses a binary COPY stream whose rows hold one-dimensional arrays, row by row as they arrive, so the raw
    stream is never held whole."""

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

    def arrays(self) -> dict[str, np.ndarray]:
        """Each column's arrays, concatenated over the rows."""
        return {
            name: np.concatenate(self.parts[name]) if self.parts[name] else np.zeros(0, dtype=NATIVE[kind])
            for name, kind in self.columns
        }

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


def copy_stream(columns: Sequence[tuple[str, str, np.ndarray]], *, nulls: dict[str, np.ndarray] | None = None
                ) -> io.BytesIO:
    """A binary COPY stream of the rows. columns: (name, type, values); nulls: name -> mask of NULLs.

    A "text" column's values are bytes (a numpy "S" array; a few distinct values, such as type keys). Rows are
    written grouped by their layout, i.e. their pattern of NULLs and the length of each text (each layout is
    fixed-width); COPY does not care about row order.
    """
    nulls = nulls or {}
    n = len(columns[0][2]) if columns else 0
    null_names = [name for name, _, _ in columns if name in nulls]
    pattern = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(null_names):
        pattern |= np.asarray(nulls[name], dtype=np.int64) << bit
    lengths = {name: np.strings.str_len(np.asarray(values)).astype(np.int64)
               for name, kind, values in columns if kind == "text"}
    for length in lengths.values():
        pattern = pattern * (int(length.max(initial=0)) + 1) + length
    out = io.BytesIO()
    out.write(SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00")
    for code in np.unique(pattern):
        rows_idx = np.flatnonzero(pattern == code)
        null_set = {name for name in null_names if nulls[name][rows_idx[0]]}
        width = {name: int(length[rows_idx[0]]) for name, length in lengths.items()}
        fields = [("nfields", ">i2")]
        for name, kind, _ in columns:
            fields.append((f"len_{name}", ">i4"))
            if name not in null_set and width.get(name) != 0:
                fields.append((name, f"S{width[name]}" if kind == "text" else PG_BINARY[kind]))
        block = np.empty(len(rows_idx), dtype=np.dtype(fields))
        block["nfields"] = len(columns)
        for name, kind, values in columns:
            if name in null_set:
                block[f"len_{name}"] = -1
                continue
            block[f"len_{name}"] = width[name] if kind == "text" else np.dtype(PG_BINARY[kind]).itemsize
            if width.get(name) != 0:
                block[name] = np.asarray(values)[rows_idx]
        out.write(block.tobytes())
    out.write(b"\xff\xff")
    out.seek(0)
    return out
