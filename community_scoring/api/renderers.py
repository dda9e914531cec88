"""JSON in and out of the API with orjson, byte for byte what DRF's JSONParser and JSONRenderer give.

orjson decodes a 1,000-event ingest body in a fraction of the stdlib's time and encodes the response ~20x faster.
Where orjson would differ from the stdlib it is not used, so clients see exactly today's results and errors:
- decoding: a body in another charset than UTF-8, or one orjson refuses (lone surrogate escapes, out-of-range
  floats, nesting deeper than 1,024, malformed JSON: the stdlib then gives today's value or error message), or
  one with a run of 19+ digits (orjson reads integers beyond 64 bits as floats; the stdlib keeps them exact);
- encoding: indented output (the browsable API) and anything orjson refuses (dates, Decimals, lazy strings,
  integers beyond 64 bits, lone surrogates: JSONRenderer then encodes them, or fails as today, except that a
  body with a lone surrogate, which UTF-8 cannot carry, is written as ASCII with the surrogate escaped).
  Floats are the one thing orjson writes differently (1e-07 is 1e-7, NaN is null): FastJSONRenderer is for
  bodies of strings, integers, booleans, None, lists and dicts (subclasses too, e.g. ErrorDetail), as the
  ingest view's are; FloatJSONRenderer for bodies with floats (it finds the floats orjson writes differently and
  leaves those bodies to JSONRenderer).

Nesting: both parsers recurse (orjson refuses beyond 1,024 levels, the stdlib raises RecursionError near
Python's recursion limit). A body nested deeper than they go is read with every value below JSON_NESTING_KEPT
levels replaced by null (`json_nesting_clip`): far deeper than anything the API accepts, so a value clipped
there is still refused by its own validation (an ingest event's `member.attributes`, say, is "nested deeper than
20 levels") and the rest of the body (the other events of a batch) is read as sent. What is clipped is not
read at all: a syntax error inside it goes unnoticed, and the clipped value is refused (or ignored, under a
field the API does not read) like any too-deep value.
"""
from __future__ import annotations

import codecs
import io
import math
import re

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

# Every byte but a digit to a space, digits to "0": a run of 19 digits becomes b"0" * 19, found by bytes.find.
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

JSON_NESTING_KEPT = 128  # levels a too-deep body keeps (below both parsers' limits; far above any API limit)
_STRUCTURE = re.compile(rb'[\[\]{}"]')
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)  # after an opening quote; linear time


def json_nesting_clip(body: bytes, levels: int = JSON_NESTING_KEPT) -> bytes:
    """`body` with each array or object that opens below `levels` levels replaced by null (strings left
    intact); the rest of the body is kept byte for byte. Well-formed JSON stays well-formed. Linear in the body's
    size (possessive quantifiers: an unterminated string cannot make the scan backtrack)."""
    out, kept_from, depth, position = [], 0, 0, 0
    while (match := _STRUCTURE.search(body, position)) is not None:
        char, position = match.group(), match.end()
        if char == b'"':
            string = _STRING_REST.match(body, position)
            if string is None:  # an unterminated string: the rest of the body is inside it
                break
            position = string.end()
        elif char in b"[{":
            depth += 1
            if depth == levels + 1:
                out += (body[kept_from:match.start()], b"null")
        else:
            if depth == levels + 1:
                kept_from = position
            depth -= 1
    if depth <= levels:
        out.append(body[kept_from:])
    return b"".join(out)


class DepthSafeJSONParser(JSONParser):
    """DRF's JSONParser, reading bodies nested beyond the parser's recursion limit clipped (json_nesting_clip)
    instead of failing with RecursionError (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return super().parse(stream, media_type, parser_context)
        body = stream.read()
        try:
            return self.parse_bytes(body, media_type, parser_context)
        except RecursionError:
            if not _utf8((parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)):
                raise ParseError("JSON parse error - nested too deeply") from None
            return self.parse_bytes(json_nesting_clip(body), media_type, parser_context)

    def parse_bytes(self, body: bytes, media_type, parser_context):
        return super().parse(io.BytesIO(body), media_type, parser_context)


def _utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


class FastJSONParser(DepthSafeJSONParser):
    """JSONParser through orjson; the stdlib reads whatever orjson would read differently or refuses."""

    def parse_bytes(self, body: bytes, media_type, parser_context):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        if _utf8(encoding) and body.translate(_DIGITS_ONLY).find(_LONG_NUMBER) < 0:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                pass
        return super().parse_bytes(body, media_type, parser_context)


class _AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True


class FastJSONRenderer(JSONRenderer):
    """JSONRenderer's compact output through orjson (U+2028/U+2029 escaped the same way); else JSONRenderer.

    A lone surrogate (a client's own escape, "\\udfff", said back in a result: a rejected event's id) cannot be
    written as UTF-8: that body is written as ASCII, the surrogate kept as its escape, where JSONRenderer would fail
    (a 500)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (data is None or self.ensure_ascii or not self.compact or not self.strict
                or self.get_indent(accepted_media_type, renderer_context or {}) is not None):
            return self._render_stdlib(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, option=_PASSTHROUGH)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return self._render_stdlib(data, accepted_media_type, renderer_context)
        if not self.written_alike(data, body):
            return self._render_stdlib(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in body:
            body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return body

    def written_alike(self, data, body: bytes) -> bool:
        """Whether orjson's ``body`` is what JSONRenderer writes (but for U+2028/U+2029): bodies without floats."""
        return True

    def _render_stdlib(self, data, accepted_media_type, renderer_context):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)


# orjson writes a finite float as repr() does (the shortest digits that read back the same, repr's exponent form from
# 1e16 up and below 1e-9) except from 1e-5 down to 1e-9: fixed notation down to 1e-6 ("0.00001", repr "1e-05"), then
# one-digit exponents ("1e-7", repr "1e-07"). Those forms are found in a body (or text that happens to look like
# them) by a substring search and a pattern with a literal start (one alternation of the two took 0.3 ms on 37 kB).
_FIXED_APART = b"0.0000"
_EXPONENT_APART = re.compile(rb"e-[0-9](?![0-9])")


def _float_forms_apart(body: bytes) -> bool:
    return _FIXED_APART in body or _EXPONENT_APART.search(body) is not None


_SCALARS = frozenset({str, int, bool, type(None)})


def _floats_finite(data) -> bool:
    """Whether every float in a body of dicts, lists and tuples is finite: their sum is (a NaN or an infinity makes it
    NaN or infinite; a sum that overflows only sends a finite body to JSONRenderer, which writes it the same).
    Exact types first (a page holds thousands of values), subclasses by isinstance."""
    total, stack = 0.0, [(data,)]
    while stack:
        for value in stack.pop():
            kind = type(value)
            if kind is float:
                total += value
            elif kind in _SCALARS:
                continue
            elif isinstance(value, float):
                total += value
            elif isinstance(value, dict):
                stack.append(value.values())
            elif isinstance(value, (list, tuple)):
                stack.append(value)
    return math.isfinite(total)


class FloatJSONRenderer(FastJSONRenderer):
    """FastJSONRenderer for bodies with floats too (a leaderboard page: ~20x faster than JSONRenderer, 0.4-1 ms of
    a page's CPU at 50 rows). A body is written by JSONRenderer when orjson would write it differently: a float from
    1e-5 down to 1e-9 (see _float_forms_apart), or a NaN or an infinity, which orjson writes as null and
    JSONRenderer refuses (strict JSON), as it did before."""

    def written_alike(self, data, body: bytes) -> bool:
        return not _float_forms_apart(body) and _floats_finite(data)
