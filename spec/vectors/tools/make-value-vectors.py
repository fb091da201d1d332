#!/usr/bin/env python3
"""Writes the test vectors of the chat protocol's value and message codecs.

    spec/vectors/values.json    layers 3-4: one value, valid and invalid
    spec/vectors/messages.json  layer 2: message type + parameters
    spec/vectors/large.json     large messages given by recipe + SHA-256

This is an independent implementation of the encoding rules of
spec/protocol.md ("Values", "Layer 2", "The JSON mapping"), written from those
rules and not from the C code, so the two can check each other. Python 3,
standard library only. The output is deterministic.

Every vector is checked here before it is written: each valid vector's bytes
decode back to its value and its JSON form maps back to the same value; each
invalid vector fails in this file's decoder with exactly the error name and
offset it records.

Usage:
    make-value-vectors.py            write the three files
    make-value-vectors.py --check    exit 1 if the files on disk differ
"""

import base64
import hashlib
import json
import math
import os
import struct
import sys
import zlib

# ---------------------------------------------------------------------------
# The value model.
#
#   None           null
#   bool           bool (tested before int: bool is an int in Python)
#   int            int (type 1) when >= 0, negint (type 8) when < 0
#   float / F64    float, 8 bytes
#   F32            float, 4 bytes
#   str            str
#   bytes          bytes
#   list           list
#   dict           dict, in insertion order (= wire order)
# ---------------------------------------------------------------------------

INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1

DEFAULT_LIMITS = {
    "max_depth": 32,
    "max_str_len": 1 << 20,
    "max_bytes_len": 16 << 20,
    "max_items": 1 << 20,
}

T_NULL, T_INT, T_FLOAT, T_STR, T_LIST, T_DICT, T_BOOL, T_BYTES, T_NEGINT = range(9)


class F32:
    """A float sent as 4 bytes (binary32). value must be exactly representable."""

    def __init__(self, value):
        value = float(value)
        if not math.isnan(value):
            back = struct.unpack(">f", struct.pack(">f", value))[0]
            if back != value:
                raise ValueError("not a binary32 value: %r" % value)
        self.value = value

    def __repr__(self):
        return "F32(%r)" % self.value


class F64:
    """A float sent as 8 bytes; plain Python floats mean the same."""

    def __init__(self, value):
        self.value = float(value)


def float_bits32(x):
    if math.isnan(x):
        return b"\x7f\xc0\x00\x00"  # the canonical quiet NaN
    return struct.pack(">f", x)


def float_bits64(x):
    if math.isnan(x):
        return b"\x7f\xf8\x00\x00\x00\x00\x00\x00"
    return struct.pack(">d", x)


def magnitude_bytes(n):
    """Minimal big-endian bytes of n >= 0; 0 is the single byte 0x00."""
    if n == 0:
        return b"\x00"
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def header(t, body):
    if len(body) > 0xFFFFFFFF:
        raise ValueError("body over 4 GiB")
    return bytes([t]) + struct.pack(">I", len(body)) + body


def encode(v):
    """The encoding (layer 3) of a value of the model above."""
    if v is None:
        return b"\x00"
    if isinstance(v, bool):
        return header(T_BOOL, b"\x01" if v else b"\x00")
    if isinstance(v, int):
        if not INT_MIN <= v <= INT_MAX:
            raise ValueError("integer out of range: %d" % v)
        if v >= 0:
            return header(T_INT, magnitude_bytes(v))
        return header(T_NEGINT, magnitude_bytes(-v))
    if isinstance(v, F32):
        return header(T_FLOAT, float_bits32(v.value))
    if isinstance(v, F64):
        return header(T_FLOAT, float_bits64(v.value))
    if isinstance(v, float):
        return header(T_FLOAT, float_bits64(v))
    if isinstance(v, str):
        return header(T_STR, v.encode("utf-8"))  # strict: no lone surrogates
    if isinstance(v, (bytes, bytearray)):
        return header(T_BYTES, bytes(v))
    if isinstance(v, list):
        return header(T_LIST, b"".join(encode(x) for x in v))
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            kb = k.encode("utf-8")
            if len(kb) > 255:
                raise ValueError("dict key over 255 bytes")
            parts.append(bytes([len(kb)]) + kb + encode(x))
        return header(T_DICT, b"".join(parts))
    raise TypeError("no encoding for %r" % (v,))


# The v2 message header (spec/protocol.md section 3): a u32 big-endian, bits
# 0-23 the message type, bit 31 the REQUEST_ID flag, bits 24-30 reserved; with
# the flag set a u32 big-endian request id follows.
V2_TYPE_MASK = 0x00FFFFFF
V2_RESERVED_MASK = 0x7F000000
V2_REQUEST_ID_FLAG = 0x80000000


def encode_message(dialect, mtype, params, request_id=None):
    if dialect == "seed":
        if not 0 <= mtype <= 0xFF:
            raise ValueError("seed message type over 255")
        if request_id is not None:
            raise ValueError("the seed dialect has no request ids")
        head = bytes([mtype])
    elif dialect == "v2":
        if not 0 <= mtype <= V2_TYPE_MASK:
            raise ValueError("v2 message type over 2^24 - 1")
        if request_id is None:
            head = struct.pack(">I", mtype)
        else:
            head = struct.pack(">II", mtype | V2_REQUEST_ID_FLAG, request_id)
    else:
        raise ValueError(dialect)
    return head + encode(params)


# ---------------------------------------------------------------------------
# The decoder, used only to check the vectors. Offsets as in the spec.
# ---------------------------------------------------------------------------


class DecodeError(Exception):
    def __init__(self, name, offset):
        Exception.__init__(self, "%s at %d" % (name, offset))
        self.name = name
        self.offset = offset


def valid_utf8(b):
    try:
        b.decode("utf-8", "strict")  # rejects overlongs, surrogates, > U+10FFFF
        return True
    except UnicodeDecodeError:
        return False


def decode(data, limits=None, base=0):
    """Decodes exactly one value from data; offsets are reported + base."""
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    value, pos = _decode_value(data, 0, len(data), 0, lim, base)
    if pos != len(data):
        raise DecodeError("trailing", base + pos)
    return value


def _decode_value(d, pos, end, depth, lim, base):
    """One value at d[pos:end] (end: the input's or the container body's end).
    depth = number of containers around it. Returns (value, next position)."""
    if pos >= end:
        raise DecodeError("truncated", base + pos)
    t = d[pos]
    if t == T_NULL:
        return None, pos + 1
    if t > T_NEGINT:
        raise DecodeError("unknown_type", base + pos)
    if end - pos < 5:
        raise DecodeError("truncated", base + pos)
    n = struct.unpack(">I", d[pos + 1:pos + 5])[0]
    b = pos + 5
    if n > end - b:
        raise DecodeError("truncated", base + pos)
    body = d[b:b + n]
    nxt = b + n
    fail = lambda name: DecodeError(name, base + pos)
    if t == T_INT or t == T_NEGINT:
        if n == 0 or (n > 1 and body[0] == 0):
            raise fail("not_canonical")
        if t == T_NEGINT and body[0] == 0:
            raise fail("not_canonical")  # magnitude 0: there is no -0
        if n > 8:
            raise fail("int_range")
        m = int.from_bytes(body, "big")
        if t == T_NEGINT:
            if m > 1 << 63:
                raise fail("int_range")
            return -m, nxt
        return m, nxt
    if t == T_FLOAT:
        if n == 4:
            return F32(struct.unpack(">f", body)[0]), nxt
        if n == 8:
            return F64(struct.unpack(">d", body)[0]), nxt
        raise fail("bad_float")
    if t == T_STR:
        if n > lim["max_str_len"]:
            raise fail("limit")
        if not valid_utf8(body):
            raise fail("utf8")
        return body.decode("utf-8"), nxt
    if t == T_BOOL:
        if n != 1 or body[0] > 1:
            raise fail("bad_bool")
        return body[0] == 1, nxt
    if t == T_BYTES:
        if n > lim["max_bytes_len"]:
            raise fail("limit")
        return bytes(body), nxt
    # list or dict: one more level
    if depth + 1 > lim["max_depth"]:
        raise fail("depth")
    p = b
    if t == T_LIST:
        items = []
        while p < nxt:
            if len(items) == lim["max_items"]:
                raise fail("limit")
            x, p = _decode_value(d, p, nxt, depth + 1, lim, base)
            items.append(x)
        return items, nxt
    entries = {}
    while p < nxt:
        if len(entries) == lim["max_items"]:
            raise fail("limit")
        kpos = p
        klen = d[p]
        p += 1
        if klen > nxt - p:
            raise DecodeError("truncated", base + kpos)
        kb = d[p:p + klen]
        if not valid_utf8(kb):
            raise DecodeError("utf8", base + kpos)
        k = kb.decode("utf-8")
        if k in entries:
            raise DecodeError("duplicate_key", base + kpos)
        p += klen
        x, p = _decode_value(d, p, nxt, depth + 1, lim, base)
        entries[k] = x
    return entries, nxt


def decode_message_with_id(dialect, data, limits=None):
    """(type, request id or None, params) of a message."""
    size = {"seed": 1, "v2": 4}[dialect]
    if len(data) < size:
        raise DecodeError("bad_message", 0)
    if size == 1:
        return data[0], None, decode(data[1:], limits, base=1)
    word = struct.unpack(">I", data[:4])[0]
    if word & V2_RESERVED_MASK:
        raise DecodeError("bad_message", 0)
    request_id = None
    if word & V2_REQUEST_ID_FLAG:
        if len(data) < 8:
            raise DecodeError("bad_message", 0)
        request_id = struct.unpack(">I", data[4:8])[0]
        size = 8
    return word & V2_TYPE_MASK, request_id, decode(data[size:], limits, base=size)


def decode_message(dialect, data, limits=None):
    mtype, _, params = decode_message_with_id(dialect, data, limits)
    return mtype, params


def canon(v):
    """A comparable form: distinguishes bool/int, float widths, NaN bits."""
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, F32):
        return ("f4", float_bits32(v.value))
    if isinstance(v, F64):
        return ("f8", float_bits64(v.value))
    if isinstance(v, float):
        return ("f8", float_bits64(v))
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, bytes):
        return ("bytes", v)
    if isinstance(v, list):
        return ("list", tuple(canon(x) for x in v))
    if isinstance(v, dict):
        return ("dict", tuple((k, canon(x)) for k, x in v.items()))
    raise TypeError(repr(v))


# ---------------------------------------------------------------------------
# The JSON mapping (spec/protocol.md, "The JSON mapping").
# ---------------------------------------------------------------------------

SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_json_special(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return None


def to_json(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, F32):
        s = float_json_special(v.value)
        return {"$float32": s if s else v.value}
    if isinstance(v, (F64, float)):
        x = v.value if isinstance(v, F64) else v
        s = float_json_special(x)
        return {"$float": s} if s else x  # Python writes floats with '.' or 'e'
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode("ascii")}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        obj = {k: to_json(x) for k, x in v.items()}
        if len(v) == 1 and next(iter(v)).startswith("$"):
            return {"$dict": obj}
        return obj
    raise TypeError(repr(v))


def from_json(j):
    """JSON (as parsed with object_pairs_hook=list_pairs) back to the model."""
    if j is None or isinstance(j, (bool, str)):
        return j
    if isinstance(j, int):
        if not INT_MIN <= j <= INT_MAX:
            raise ValueError("integer out of range")
        return j
    if isinstance(j, float):
        return F64(j)
    if isinstance(j, Pairs):  # before list: Pairs is a list
        if len(j) == 1 and j[0][0].startswith("$"):
            key, x = j[0]
            if key == "$float32":
                return F32(SPECIAL_FLOATS[x] if isinstance(x, str) else x)
            if key == "$float":
                return F64(SPECIAL_FLOATS[x])
            if key == "$bytes":
                return base64.b64decode(x, validate=True)
            if key == "$dict":
                if not isinstance(x, Pairs):
                    raise ValueError("$dict wants an object")
                return pairs_to_dict(x)
            raise ValueError("unknown marker %s" % key)
        return pairs_to_dict(j)
    if isinstance(j, list):
        return [from_json(x) for x in j]
    raise TypeError(repr(j))


class Pairs(list):
    pass


def pairs_to_dict(pairs):
    out = {}
    for k, x in pairs:
        if k in out:
            raise ValueError("duplicate key in JSON object")
        out[k] = from_json(x)
    return out


def json_loads(text):
    return json.loads(text, object_pairs_hook=Pairs)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, allow_nan=False,
                      separators=(", ", ": "))


# ---------------------------------------------------------------------------
# Building blocks of realistic parameters (spec/protocol.md, catalogue).
# ---------------------------------------------------------------------------


def png_1x1_red():
    """A valid 1x1 RGB PNG (one red pixel), built by hand so that the bytes
    do not depend on the zlib library's compressor: the image data is a
    zlib stream with one stored (uncompressed) deflate block."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"\x00\xff\x00\x00"  # filter 0, then R G B
    stream = (b"\x78\x01" + b"\x01" + struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF) +
              raw + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF))
    assert zlib.decompress(stream) == raw
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8 bits, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", stream) +
            chunk(b"IEND", b""))


PNG = png_1x1_red()


def user(uid, username, nickname, online):  # @user: key order of the spec
    return {"id": uid, "username": username, "nickname": nickname, "online": online}


def room(rid, name):  # @room
    return {"id": rid, "room_name": name}


def friend_contact(u):
    c = dict(u)
    c["type"] = 0
    return c


def room_contact(r):
    c = dict(r)
    c["type"] = 1
    return c


def text_body(data, fontsize=12, fontcolor="#ff0000"):
    return {"type": 0, "data": data, "fontsize": fontsize, "fontcolor": fontcolor}


def image_body(data):
    return {"type": 1, "data": data}


def notice(message, sender_id, sender_name, target_type, time, target_id):
    return {"message": message, "sender_id": sender_id, "sender_name": sender_name,
            "target_type": target_type, "time": time, "target_id": target_id}


ALICE = user(1, "alice", "Alice", True)
BOB = user(2, "bob", "鲍勃", True)
CAROL = user(3, "carol", "小红 🌸", False)
ROOM = room(1, "技术交流")
ROOM2 = room(4, "weekend hikes")

T0 = 1700000000000  # ms since the epoch, 2023-11-14

# ---------------------------------------------------------------------------
# values.json
# ---------------------------------------------------------------------------


def nest_lists(n, inner=None):
    """n lists, each inside the next; the innermost is empty or holds inner."""
    v = [] if inner is None else [inner]
    for _ in range(n - 1):
        v = [v]
    return v


def value_vectors():
    v = []

    def add(name, value, limits=None):
        entry = {"name": name, "json": to_json(value), "hex": encode(value).hex()}
        if limits:
            entry["limits"] = limits
        v.append((entry, value))

    # null
    add("null", None)
    # int: every length boundary
    for n, label in [(0, "0"), (1, "1"), (127, "127"), (128, "128"), (255, "255"),
                     (256, "256"), (65535, "65535"), (65536, "65536"),
                     (2**32 - 1, "2^32-1"), (2**32, "2^32"), (2**53 + 1, "2^53+1"),
                     (2**63 - 1, "2^63-1"), (2**63, "2^63"), (2**64 - 1, "2^64-1")]:
        add("int " + label, n)
    # negint
    for n, label in [(-1, "-1"), (-255, "-255"), (-256, "-256"),
                     (-(2**32), "-2^32"), (-(2**53 + 1), "-(2^53+1)"),
                     (-(2**63 - 1), "-(2^63-1)"), (-(2**63), "-2^63")]:
        add("negint " + label, n)
    # float
    add("float32 1.5", F32(1.5))
    add("float32 -0.0", F32(-0.0))
    add("float32 0.1 (nearest binary32)", F32(struct.unpack(">f", struct.pack(">f", 0.1))[0]))
    add("float32 largest finite", F32(struct.unpack(">f", b"\x7f\x7f\xff\xff")[0]))
    add("float32 Infinity", F32(math.inf))
    add("float64 0.1", 0.1)
    add("float64 1e300", 1e300)
    add("float64 -2.5", -2.5)
    add("float64 5e-324 (smallest subnormal)", 5e-324)
    add("float64 2.0 (integral)", 2.0)
    add("float64 -0.0", -0.0)
    add("float64 Infinity", math.inf)
    add("float64 -Infinity", -math.inf)
    add("float64 NaN (canonical quiet NaN)", math.nan)
    # str
    add("str empty", "")
    add("str ASCII", "hello")
    add("str Chinese", "你好，世界")
    add("str emoji (4-byte UTF-8)", "😀")
    add("str with NUL inside", "a\x00b")
    add("str UTF-8 boundaries", "\x7f\x80\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffff")
    add("str multi-line text", "line one\nline two\r\n\ttab")
    # bytes
    add("bytes empty", b"")
    add("bytes small", b"\x00\x01\xfe\xff")
    add("bytes 1000 (i % 256)", bytes(i % 256 for i in range(1000)))
    add("bytes PNG 1x1", PNG)
    # bool
    add("bool true", True)
    add("bool false", False)
    # null nested (not for seed peers)
    add("null in a list (not for seed peers)", [None])
    add("null as a dict value (not for seed peers)", {"a": None})
    add("nulls mixed in a list (not for seed peers)", [1, None, "x", None])
    # list
    add("list empty", [])
    add("list of ints", [1, 2, 3])
    add("list nested", [[], [[]], [1, [2, [3]]]])
    add("list mixed", [0, -1, F32(1.5), 2.5, "s", [], {}, True, False, b"\x01"])
    # dict
    add("dict empty", {})
    add("dict one entry", {"a": 1})
    add("dict key of 0 bytes", {"": "empty key"})
    add("dict key of 255 bytes", {"k" * 255: 255})
    add("dict key of 255 bytes of UTF-8", {"中" * 85: True})
    add("dict UTF-8 key", {"名字": "小明", "😀": 1})
    add("dict order preserved (not sorted)", {"zeta": 1, "alpha": 2, "mid": 3, "": 4})
    add("dict whose only key starts with $", {"$bytes": "not bytes"})
    add("dict whose only key is $dict", {"$dict": {"$float": 1}})
    add("dict with a $ key among others", {"$a": 1, "b": 2})
    add("dict nested", {"outer": {"inner": {"deep": [1, {"x": "y"}]}}})
    # nesting
    add("32 nested lists (default max depth)", nest_lists(32))
    add("31 nested lists around an int", nest_lists(31, 7))
    deep = []
    for i in range(31):
        deep = [deep] if i % 2 else {"d": deep}
    add("32 nested lists and dicts mixed", deep)
    add("3 nested lists under max_depth 3", nest_lists(3), {"max_depth": 3})
    # values at the caller's limits
    add("str at max_str_len 4", "abcd", {"max_str_len": 4})
    add("dict key longer than max_str_len (keys are not str values)",
        {"abcdef": 1}, {"max_str_len": 3})
    add("bytes at max_bytes_len 3", b"abc", {"max_bytes_len": 3})
    add("list at max_items 3", [1, 2, 3], {"max_items": 3})
    add("dict at max_items 2", {"a": 1, "b": 2}, {"max_items": 2})
    # realistic seed shapes
    add("seed login parameters", ["alice", "secret123"])
    add("seed user (@user)", ALICE)
    add("seed text body", text_body("Hello, Bob!\n你好"))
    add("seed image body", image_body(PNG))
    add("seed notice (@notice)", notice(text_body("hi"), 1, "Alice", 0, T0, 2))
    add("seed query_room_users_result parameters",
        [[[1, "Alice", True, "alice"], [2, "鲍勃", False, "bob"]], 1])

    for entry, value in v:
        check_valid_value(entry, value)
    return [e for e, _ in v]


def check_valid_value(entry, value):
    data = bytes.fromhex(entry["hex"])
    got = decode(data, entry.get("limits"))
    assert canon(got) == canon(value), entry["name"]
    back = from_json(json_loads(dumps(entry["json"])))
    assert canon(back) == canon(value), entry["name"]
    assert encode(back) == data, entry["name"]


def h(*parts):
    """Hex input from parts: bytes, or str of hex digits (spaces allowed)."""
    out = b""
    for p in parts:
        out += p if isinstance(p, bytes) else bytes.fromhex(p.replace(" ", ""))
    return out


def invalid_value_vectors():
    out = []

    def bad(name, data, error, offset, limits=None):
        entry = {"name": name, "hex": data.hex(), "error": error, "offset": offset}
        if limits:
            entry["limits"] = limits
        try:
            decode(data, limits)
        except DecodeError as e:
            assert (e.name, e.offset) == (error, offset), (name, e.name, e.offset)
        else:
            raise AssertionError("decodes: " + name)
        out.append(entry)

    # truncated
    bad("empty input", b"", "truncated", 0)
    bad("type byte only", h("01"), "truncated", 0)
    bad("header cut inside the length", h("03 0000"), "truncated", 0)
    bad("body shorter than its length", h("03 00000005 6869"), "truncated", 0)
    bad("bytes length far past the end", h("07 ffffffff 00"), "truncated", 0)
    bad("list length past the end", h("04 00000010 00"), "truncated", 0)
    bad("child body past its list's end",
        h("04 00000006", "03 00000005 68656c6c6f"), "truncated", 5)
    bad("child header past its list's end", h("04 00000003 03 0000"), "truncated", 5)
    bad("child past a nested list's end (outer fits)",
        h("04 0000000c", "04 00000002", "01 00000001 07", "00"), "truncated", 10)
    bad("dict key past the body end", h("05 00000003 05 6162"), "truncated", 5)
    bad("dict value missing after its key", h("05 00000002 01 61"), "truncated", 7)
    bad("dict value past the body end",
        h("05 00000008 01 61 03 00000005", "6162636465"), "truncated", 7)
    # unknown_type
    bad("type 9", h("09 00000000"), "unknown_type", 0)
    bad("type 255", h("ff"), "unknown_type", 0)
    bad("type 9 inside a list", h("04 00000005 09 00000000"), "unknown_type", 5)
    bad("type 200 as a dict value", h("05 00000003 01 6b c8"), "unknown_type", 7)
    # depth
    deep33 = encode(nest_lists(33))
    bad("33 nested lists", deep33, "depth", 32 * 5)
    d33 = {}
    for _ in range(32):
        d33 = {"a": d33}
    bad("33 nested dicts", encode(d33), "depth", 32 * 7)
    bad("4 nested lists under max_depth 3", encode(nest_lists(4)), "depth", 15,
        {"max_depth": 3})
    bad("list in a dict in a list under max_depth 2", encode([{"k": []}]), "depth", 12,
        {"max_depth": 2})
    # utf8
    bad("str overlong '/' (c0 af)", h("03 00000002 c0af"), "utf8", 0)
    bad("str overlong 3-byte (e0 80 af)", h("03 00000003 e080af"), "utf8", 0)
    bad("str surrogate U+D800 (ed a0 80)", h("03 00000003 eda080"), "utf8", 0)
    bad("str above U+10FFFF (f4 90 80 80)", h("03 00000004 f4908080"), "utf8", 0)
    bad("str truncated sequence (e4 b8)", h("03 00000002 e4b8"), "utf8", 0)
    bad("str lone continuation byte", h("03 00000002 6180"), "utf8", 0)
    bad("str byte ff", h("03 00000001 ff"), "utf8", 0)
    bad("str inside a list", h("04 00000007 03 00000002 c0af"), "utf8", 5)
    bad("dict key not UTF-8", h("05 00000004 02 c0af 00"), "utf8", 5)
    bad("second dict key not UTF-8",
        h("05 00000007 01 61 00 02 e4b8 00"), "utf8", 8)
    # duplicate_key
    bad("duplicate key", h("05 00000010 01 61 01 00000001 01 01 61 01 00000001 02"),
        "duplicate_key", 13)
    bad("duplicate empty key", h("05 00000004 00 00 00 00"), "duplicate_key", 7)
    bad("duplicate key, not adjacent", h("05 00000009 01 61 00 01 62 00 01 61 00"),
        "duplicate_key", 11)
    # trailing
    bad("null then one byte", h("00 00"), "trailing", 1)
    bad("int then one byte", h("01 00000001 05 ff"), "trailing", 6)
    bad("two values", h("04 00000000 04 00000000"), "trailing", 5)
    # not_canonical
    bad("int with a leading zero byte", h("01 00000002 0001"), "not_canonical", 0)
    bad("int zero written as two bytes", h("01 00000002 0000"), "not_canonical", 0)
    bad("int with an empty body", h("01 00000000"), "not_canonical", 0)
    bad("int of 9 bytes with a leading zero", h("01 00000009 00 ffffffffffffffff"),
        "not_canonical", 0)
    bad("negint zero (-0)", h("08 00000001 00"), "not_canonical", 0)
    bad("negint with an empty body", h("08 00000000"), "not_canonical", 0)
    bad("negint with a leading zero byte", h("08 00000002 0001"), "not_canonical", 0)
    bad("int not canonical inside a dict",
        h("05 00000009 01 6e 01 00000002 0005"), "not_canonical", 7)
    # int_range
    bad("int of 9 bytes (2^64)", h("01 00000009 01 0000000000000000"), "int_range", 0)
    bad("int of 16 bytes", h("01 00000010", "ff" * 16), "int_range", 0)
    bad("negint 2^63+1", h("08 00000008 8000000000000001"), "int_range", 0)
    bad("negint 2^64-1", h("08 00000008 ffffffffffffffff"), "int_range", 0)
    bad("negint of 9 bytes", h("08 00000009 01 0000000000000000"), "int_range", 0)
    # bad_bool
    bad("bool 2", h("06 00000001 02"), "bad_bool", 0)
    bad("bool ff", h("06 00000001 ff"), "bad_bool", 0)
    bad("bool with an empty body", h("06 00000000"), "bad_bool", 0)
    bad("bool of 2 bytes", h("06 00000002 0001"), "bad_bool", 0)
    # bad_float
    bad("float of 3 bytes", h("02 00000003 3fc000"), "bad_float", 0)
    bad("float of 0 bytes", h("02 00000000"), "bad_float", 0)
    bad("float of 16 bytes", h("02 00000010", "00" * 16), "bad_float", 0)
    bad("float of 2 bytes in a list", h("04 00000007 02 00000002 3c00"), "bad_float", 5)
    # limit
    bad("str over max_str_len 3", h("03 00000004 61626364"), "limit", 0,
        {"max_str_len": 3})
    bad("str over max_str_len 3 inside a list", h("04 00000009 03 00000004 61626364"),
        "limit", 5, {"max_str_len": 3})
    bad("bytes over max_bytes_len 2", h("07 00000003 010203"), "limit", 0,
        {"max_bytes_len": 2})
    bad("bytes over max_bytes_len 0", h("07 00000001 00"), "limit", 0,
        {"max_bytes_len": 0})
    bad("list of 3 over max_items 2", encode([1, 2, 3]), "limit", 0, {"max_items": 2})
    bad("dict of 3 over max_items 2", encode({"a": 1, "b": 2, "c": 3}), "limit", 0,
        {"max_items": 2})
    bad("inner list over max_items 1", encode([[1, 2]]), "limit", 5, {"max_items": 1})
    return out


# ---------------------------------------------------------------------------
# messages.json
# ---------------------------------------------------------------------------

# The catalogue (protocol/catalogue.c): code -> name. Kept here by hand so this
# file stays independent; a vector per entry is asserted below.
CATALOGUE = {
    1: "login", 2: "register", 3: "client_echo", 4: "add_friend",
    5: "resolve_friend_request", 6: "send_message", 7: "join_room",
    8: "create_room", 9: "query_room_users", 10: "bad",
    100: "login_successful", 101: "register_successful",
    102: "incoming_friend_request", 103: "contact_info", 104: "chat_history",
    105: "server_echo", 106: "add_friend_result", 107: "friend_on_off_line",
    108: "notify_chat_history", 109: "on_new_message", 110: "server_kick",
    111: "query_room_users_result", 112: "room_user_on_off_line",
    113: "login_bundle", 201: "login_failed", 202: "username_taken",
    203: "general_failure", 204: "general_msg",
}
# The v2 dialect's additions: sent only on v2 connections.
CATALOGUE_V2_ONLY = {
    20: "resume", 21: "logout", 22: "fetch_history", 23: "mark_read",
    24: "leave_room", 25: "set_nickname", 26: "set_password", 27: "search",
    114: "session_bundle", 115: "history_page", 116: "read_marker",
    117: "logged_out", 118: "left_room", 119: "profile_updated",
    120: "password_changed", 121: "search_results", 205: "request_failed",
}
CATALOGUE.update(CATALOGUE_V2_ONLY)
CODE = {name: code for code, name in CATALOGUE.items()}


USERNAMES = {1: "alice", 2: "bob", 3: "carol"}


def v2_notice(message, sender_id, sender_name, target_type, time, target_id, mid,
              client_msg_id=None):
    n = notice(message, sender_id, sender_name, target_type, time, target_id)
    n["id"] = mid
    if client_msg_id is not None:
        n["client_msg_id"] = client_msg_id
    n["sender_username"] = USERNAMES[sender_id]
    return n


def image_preview(data):
    # What a v2 server sends instead of an image in a session_bundle (and for
    # an image too large to send): its format and size.
    return {"type": 1, "format": "png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "",
            "size": len(data)}


TOKEN = bytes(range(0xa0, 0xc0))


def session_bundle_params():
    last_bob = v2_notice(text_body("明天见！See you tomorrow.", 14, "#0000ff"),
                         2, "鲍勃", 0, T0 + 60000, 1, 41)
    last_room = v2_notice(image_preview(PNG), 3, "小红 🌸", 1, T0 + 120000, 1, 57)
    return {
        "token": TOKEN,
        "friends": [friend_contact(BOB), friend_contact(CAROL)],
        "rooms": [room_contact(ROOM), room_contact(ROOM2)],
        "conversations": [
            {"target_type": 0, "target_id": 2, "last": last_bob, "unread": 1,
             "last_read_id": 40},
            {"target_type": 1, "target_id": 1, "last": last_room, "unread": 3,
             "last_read_id": 50},
            {"target_type": 1, "target_id": 4, "last": None, "unread": 0,
             "last_read_id": 0},
        ],
    }


def login_bundle_params():
    # Alice's stored history: a 1:1 text from Bob that was delivered live, and
    # a room message from Carol that arrived while Alice was offline.
    from_bob = notice(text_body("明天见！See you tomorrow.", 14, "#0000ff"),
                      2, "鲍勃", 0, T0 + 60000, 1)
    in_room = notice(image_body(PNG), 3, "小红 🌸", 1, T0 + 120000, 1)
    return {
        "rooms": [room_contact(ROOM), room_contact(ROOM2)],
        "friends": [friend_contact(BOB), friend_contact(CAROL)],
        "messages": [[encode(from_bob), 1], [encode(in_room), 0]],
    }


def search_spans(text, query):
    """Every occurrence of query in text, overlapping ones too, as [start,
    length] in bytes of UTF-8: ASCII letters compared without case, every
    other byte exactly (spec/protocol.md 5.6, "Search")."""
    def fold(b):
        return bytes(c + 32 if 0x41 <= c <= 0x5A else c for c in b)
    t, q = fold(text.encode("utf-8")), fold(query.encode("utf-8"))
    return [[i, len(q)] for i in range(len(t) - len(q) + 1) if t[i:i + len(q)] == q]


def search_result(query, n):
    return {"notice": n, "matches": search_spans(n["message"]["data"], query)}


def search_results_params():
    hello = v2_notice(text_body("Hello, hello! HELLO"), 2, "鲍勃", 0, T0 + 2000, 1, 12)
    room = v2_notice(text_body("say hello to 小红"), 3, "小红 🌸", 1, T0 + 1000, 1, 9)
    return {"query": "hello", "results": [search_result("hello", hello),
                                          search_result("hello", room)], "more": True}


def search_results_chinese_params():
    laugh = v2_notice(text_body("哈哈哈，明天见！"), 2, "鲍勃", 0, T0 + 60000, 1, 41)
    return {"query": "哈哈", "results": [search_result("哈哈", laugh)], "more": False}


ECHO_SEED = {"n": 42, "list": [1, "two", True, b"\x03"], "nested": {"k": ""}}
ECHO_V2 = {"neg": -42, "pi": 3.141592653589793, "nulls": [None, {"x": None}],
           "half": F32(0.5)}


def message_vectors():
    seed = [
        ("login", ["alice", "secret123"]),
        ("register", ["alice", "secret123", "Alice"]),
        ("register", ["xiaoming", "pässwörd", "小明"]),
        ("client_echo", ECHO_SEED),
        ("add_friend", "bob"),
        ("resolve_friend_request", [2, True]),
        ("resolve_friend_request", [3, False]),
        ("send_message", {"target_type": 0, "target_id": 2,
                          "message": text_body("Hello, Bob!\n你好")}),
        ("send_message", {"target_type": 1, "target_id": 1,
                          "message": image_body(PNG)}),
        ("join_room", 1),
        ("create_room", "技术交流"),
        ("query_room_users", 1),
        ("bad", None),
        ("login_successful", ALICE),
        ("register_successful", 3),
        ("incoming_friend_request", BOB),
        ("contact_info", friend_contact(BOB)),
        ("contact_info", room_contact(ROOM)),
        ("chat_history", None),
        ("server_echo", ECHO_SEED),
        ("add_friend_result", [True, ""]),
        ("add_friend_result", [False, "no such user"]),
        ("friend_on_off_line", [True, 2]),
        ("friend_on_off_line", [False, 2]),
        ("notify_chat_history", None),
        ("on_new_message", notice(text_body("Hello, Bob!\n你好"), 1, "Alice", 0, T0, 2)),
        ("on_new_message", notice(text_body("Hello, Bob!\n你好"), 1, "Alice", 0, T0, 1)),
        ("on_new_message", notice(image_body(PNG), 2, "鲍勃", 1, T0 + 5000, 1)),
        ("server_kick", None),
        ("query_room_users_result",
         [[[1, "Alice", True, "alice"], [2, "鲍勃", False, "bob"]], 1]),
        ("room_user_on_off_line", [1, 2, True]),
        ("login_bundle", login_bundle_params()),
        ("login_failed", None),
        ("username_taken", None),
        ("general_failure", "you are not a member of this room"),
        ("general_msg", "room 4 created"),
    ]
    notes = {
        ("register", 1): "with a Chinese nickname",
        ("resolve_friend_request", 0): "accept",
        ("resolve_friend_request", 1): "reject",
        ("send_message", 0): "text to a friend",
        ("send_message", 1): "1x1 PNG to a room",
        ("contact_info", 0): "friend",
        ("contact_info", 1): "room",
        ("add_friend_result", 0): "ok",
        ("add_friend_result", 1): "refused",
        ("friend_on_off_line", 0): "online",
        ("friend_on_off_line", 1): "offline",
        ("on_new_message", 0): "sender's copy of a 1:1 text",
        ("on_new_message", 1): "receiver's copy of a 1:1 text",
        ("on_new_message", 2): "image in a room",
    }
    v2 = [
        ("login", ["alice", "secret123"]),
        ("register", ["xiaoming", "pässwörd", "小明"]),
        ("client_echo", ECHO_V2),
        ("server_echo", ECHO_V2),
        ("send_message", {"target_type": 0, "target_id": 2,
                          "message": text_body("Hello, Bob!\n你好")}),
        ("send_message", {"target_type": 1, "target_id": 1,
                          "message": image_body(PNG)}),
        ("login_successful", ALICE),
        ("on_new_message", notice(text_body("Hello, Bob!\n你好"), 1, "Alice", 0, T0, 2)),
        ("query_room_users_result",
         [[[1, "Alice", True, "alice"], [2, "鲍勃", False, "bob"]], 1]),
        ("login_bundle", login_bundle_params()),
        ("server_kick", None),
        ("general_failure", "you are not a member of this room"),
        ("send_message", {"target_type": 0, "target_id": 2,
                          "message": text_body("Hello again"),
                          "client_msg_id": "c0ffee00-0001"}),
        ("on_new_message", v2_notice(text_body("Hello again"), 1, "Alice", 0, T0 + 9000, 2,
                                     1042, "c0ffee00-0001")),
        ("server_kick", {"reason": "logged in elsewhere", "address": "127.0.0.1:50312",
                         "time": T0 + 3600000}),
        ("resume", {"username": "alice", "token": TOKEN}),
        ("logout", None),
        ("fetch_history", {"target_type": 0, "target_id": 2, "before_id": 0, "limit": 50}),
        ("fetch_history", {"target_type": 1, "target_id": 1, "before_id": 1000, "limit": 20}),
        ("mark_read", {"target_type": 0, "target_id": 2, "up_to_id": 1042}),
        ("leave_room", 4),
        ("set_nickname", "爱丽丝"),
        ("set_password", ["secret123", "correct horse battery staple"]),
        ("session_bundle", session_bundle_params()),
        ("history_page", {"target_type": 0, "target_id": 2, "messages": [
            v2_notice(text_body("second"), 2, "鲍勃", 0, T0 + 2000, 1, 12),
            v2_notice(text_body("first"), 1, "Alice", 0, T0 + 1000, 2, 11)], "more": False}),
        ("history_page", {"target_type": 1, "target_id": 1, "messages": [], "more": False}),
        ("history_page", {"target_type": 1, "target_id": 1, "messages": [
            v2_notice({"type": 1, "format": "jpeg", "size": 20971520}, 3, "小红 🌸", 1,
                      T0 + 3000, 1, 7)], "more": True}),
        ("read_marker", {"target_type": 0, "target_id": 2, "last_read_id": 1042, "unread": 0}),
        ("logged_out", None),
        ("left_room", 4),
        ("profile_updated", user(1, "alice", "爱丽丝", True)),
        ("password_changed", None),
        ("request_failed", {"error": "not_member", "text": "you are not a member of this room"}),
        ("search", {"query": "hello", "before_id": 0, "limit": 20}),
        ("search", {"query": "明天", "before_id": 42, "limit": 50, "target_type": 0,
                    "target_id": 2}),
        ("search_results", search_results_params()),
        ("search_results", search_results_chinese_params()),
        ("search_results", {"query": "zzz", "results": [], "more": False}),
    ]
    # v2 messages with a request id (spec section 5.7): a request and the
    # answers that echo its id, success and failure.
    v2_with_id = [
        ("login", ["alice", "secret123"], 1),
        ("login_successful", ALICE, 1),
        ("session_bundle", session_bundle_params(), 1),
        ("join_room", 7, 0x7fffffff),
        ("request_failed", {"error": "no_such_room", "text": "there is no such room"},
         0x7fffffff),
        ("fetch_history", {"target_type": 0, "target_id": 2, "before_id": 0, "limit": 50},
         0xffffffff),
        ("history_page", {"target_type": 0, "target_id": 2, "messages": [], "more": False},
         0xffffffff),
        ("client_echo", "ping", 0),
        ("server_echo", "ping", 0),
        ("request_failed", {"error": "server_busy", "text": "the server is busy; try again"},
         42),
        ("search", {"query": "hello", "before_id": 12, "limit": 1}, 9),
        ("search_results", {"query": "hello", "results": [], "more": False}, 9),
        ("request_failed", {"error": "bad_request",
                            "text": "the search query is only white space"}, 9),
    ]
    v2_notes = {("client_echo", 0): "v2-only values: negint, float64, nested null",
                ("server_echo", 0): "v2-only values: negint, float64, nested null",
                ("send_message", 0): "text to a friend",
                ("send_message", 1): "1x1 PNG to a room",
                ("send_message", 2): "with a client_msg_id",
                ("on_new_message", 1): "the sender's copy, the acknowledgement",
                ("server_kick", 1): "with the reason",
                ("fetch_history", 1): "older than an id",
                ("history_page", 1): "empty",
                ("history_page", 2): "an image stored before the size limit, as a preview",
                ("search", 0): "everywhere, from the newest",
                ("search", 1): "in one conversation, older than an id",
                ("search_results", 0): "every occurrence in any ASCII case, a 1:1 and a room message",
                ("search_results", 1): "Chinese, overlapping occurrences",
                ("search_results", 2): "nothing found"}

    out = []
    for dialect, items, extra in (("seed", seed, notes), ("v2", v2, v2_notes)):
        seen = {}
        for name, params in items:
            i = seen.get(name, 0)
            seen[name] = i + 1
            label = "%s %s" % (dialect, name)
            if (name, i) in extra:
                label += " (%s)" % extra[(name, i)]
            code = CODE[name]
            data = encode_message(dialect, code, params)
            entry = {"name": label, "dialect": dialect,
                     "message": {"type": code, "name": name, "params": to_json(params)},
                     "hex": data.hex()}
            mtype, got = decode_message(dialect, data)
            assert mtype == code and canon(got) == canon(params), label
            back = from_json(json_loads(dumps(entry["message"]["params"])))
            assert encode_message(dialect, code, back) == data, label
            if dialect == "seed":
                assert seed_compatible(params), label
            out.append(entry)
    seen = {}
    for name, params, request_id in v2_with_id:
        i = seen.get(name, 0)
        seen[name] = i + 1
        label = "v2 %s with request id %d" % (name, request_id)
        code = CODE[name]
        data = encode_message("v2", code, params, request_id)
        entry = {"name": label, "dialect": "v2",
                 "message": {"type": code, "name": name, "request_id": request_id,
                             "params": to_json(params)},
                 "hex": data.hex()}
        mtype, rid, got = decode_message_with_id("v2", data)
        assert (mtype, rid) == (code, request_id) and canon(got) == canon(params), label
        out.append(entry)
    names_seed = {e["message"]["name"] for e in out if e["dialect"] == "seed"}
    seed_names = set(CODE) - set(CATALOGUE_V2_ONLY.values())
    assert names_seed == seed_names, seed_names - names_seed
    names_v2 = {e["message"]["name"] for e in out if e["dialect"] == "v2"}
    assert set(CATALOGUE_V2_ONLY.values()) <= names_v2
    assert sum(1 for e in out if e["dialect"] == "v2") >= 8
    assert len({e["name"] for e in out}) == len(out)
    return out


def seed_compatible(v, top=True):
    """What a seed peer can read: no null inside containers, no negative
    integers, no 8-byte floats."""
    if v is None:
        return top
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return v >= 0
    if isinstance(v, (float, F64)):
        return False
    if isinstance(v, list):
        return all(seed_compatible(x, False) for x in v)
    if isinstance(v, dict):
        return all(seed_compatible(x, False) for x in v.values())
    return True


def invalid_message_vectors():
    out = []

    def bad(name, dialect, data, error, offset):
        try:
            decode_message(dialect, data)
        except DecodeError as e:
            assert (e.name, e.offset) == (error, offset), (name, e.name, e.offset)
        else:
            raise AssertionError("decodes: " + name)
        out.append({"name": name, "dialect": dialect, "hex": data.hex(),
                    "error": error, "offset": offset})

    bad("seed empty input", "seed", b"", "bad_message", 0)
    bad("v2 empty input", "v2", b"", "bad_message", 0)
    bad("v2 1 byte", "v2", h("00"), "bad_message", 0)
    bad("v2 3 bytes", "v2", h("000001"), "bad_message", 0)
    bad("seed type without a value", "seed", h("01"), "truncated", 1)
    bad("v2 type without a value", "v2", h("00000001"), "truncated", 4)
    bad("seed trailing byte after the value", "seed", h("6e 00 00"), "trailing", 2)
    bad("seed trailing bytes after a list", "seed",
        h("07 04 00000006 01 00000001 01 ffff"), "trailing", 12)
    bad("v2 trailing byte after the value", "v2", h("0000006e 00 ff"), "trailing", 5)
    bad("seed value header cut", "seed", h("01 04 0000"), "truncated", 1)
    bad("v2 value body cut", "v2", h("00000004 03 00000003 626f"), "truncated", 4)
    bad("seed bad bool in parameters", "seed",
        h("05 04 0000000c 01 00000001 02 06 00000001 02"), "bad_bool", 12)
    bad("v2 str not UTF-8 in parameters", "v2", h("00000008 03 00000002 c0af"),
        "utf8", 4)
    bad("seed unknown value type", "seed", h("03 09"), "unknown_type", 1)
    # The v2 header's reserved bits and request id (section 3).
    bad("v2 type 0x01000001: reserved bit 24 set", "v2", h("01000001 04 00000000"),
        "bad_message", 0)
    bad("v2 reserved bit 30 set", "v2", h("40000003 00"), "bad_message", 0)
    bad("v2 reserved bits with the REQUEST_ID flag", "v2", h("ff000003 00000001 00"),
        "bad_message", 0)
    bad("v2 REQUEST_ID flag without the request id", "v2", h("80000003"), "bad_message", 0)
    bad("v2 REQUEST_ID flag with a 3-byte request id", "v2", h("80000003 000000"),
        "bad_message", 0)
    bad("v2 request id without a value", "v2", h("80000003 00000001"), "truncated", 8)
    bad("v2 str not UTF-8 after a request id", "v2", h("80000008 00000005 03 00000002 c0af"),
        "utf8", 8)
    return out


def catalogue_invalid_vectors():
    """Messages that decode but fail the catalogue check. Each says which way
    it travels: "c2s" is checked as a request a server receives, "s2c" as a
    message a client receives. A code is known only in its own direction and
    dialect (section 5), so the same bytes can be fine one way and
    unknown_message the other."""
    out = []

    def known(dialect, direction, mtype):
        if mtype not in CATALOGUE or (dialect == "seed" and mtype in CATALOGUE_V2_ONLY):
            return False
        return (mtype < 100) == (direction == "c2s")

    def bad(name, dialect, direction, mtype, params, error):
        data = encode_message(dialect, mtype, params)
        decode_message(dialect, data)  # must decode
        assert known(dialect, direction, mtype) == (error == "shape"), name
        out.append({"name": name, "dialect": dialect, "direction": direction,
                    "hex": data.hex(), "error": error})

    bad("seed type 0", "seed", "c2s", 0, None, "unknown_message")
    bad("seed type 11", "seed", "c2s", 11, None, "unknown_message")
    bad("seed type 255", "seed", "s2c", 255, "x", "unknown_message")
    bad("v2 type 256", "v2", "c2s", 256, None, "unknown_message")
    bad("v2 type 0xffffff", "v2", "s2c", 0xFFFFFF, [], "unknown_message")
    bad("request_failed without text", "v2", "s2c", 205, {"error": "not_member"}, "shape")
    bad("login sent to a client", "seed", "s2c", 1, ["alice", "pw"], "unknown_message")
    bad("server_kick sent to a server", "v2", "c2s", 110, None, "unknown_message")
    bad("logout on a seed connection", "seed", "c2s", 21, None, "unknown_message")
    bad("logged_out on a seed connection", "seed", "s2c", 117, None, "unknown_message")
    bad("login with one item", "seed", "c2s", 1, ["alice"], "shape")
    bad("login with ints", "seed", "c2s", 1, [1, 2], "shape")
    bad("login with three items", "seed", "c2s", 1, ["alice", "pw", "x"], "shape")
    bad("add_friend with a list", "seed", "c2s", 4, ["bob"], "shape")
    bad("resolve_friend_request with the items swapped", "seed", "c2s", 5, [True, 2], "shape")
    bad("send_message without target_id", "seed", "c2s", 6,
        {"target_type": 0, "message": text_body("hi")}, "shape")
    bad("send_message body without data", "seed", "c2s", 6,
        {"target_type": 0, "target_id": 2, "message": {"type": 0, "fontsize": 12,
                                                       "fontcolor": "#ff0000"}}, "shape")
    bad("send_message text with fontsize as str", "v2", "c2s", 6,
        {"target_type": 0, "target_id": 2,
         "message": {"type": 0, "data": "hi", "fontsize": "12", "fontcolor": "#ff0000"}},
        "shape")
    bad("join_room with a str", "seed", "c2s", 7, "1", "shape")
    bad("friend_on_off_line with the items swapped", "seed", "s2c", 107, [2, True], "shape")
    bad("server_kick with a value", "seed", "s2c", 110, 0, "shape")
    bad("login_failed with a str", "v2", "s2c", 201, "wrong password", "shape")
    bad("general_failure with null", "seed", "s2c", 203, None, "shape")
    bad("login_successful without online", "seed", "s2c", 100,
        {"id": 1, "username": "alice", "nickname": "Alice"}, "shape")
    bad("login_bundle message with sent as bool", "seed", "s2c", 113,
        {"rooms": [], "friends": [], "messages": [[b"", True]]}, "shape")
    bad("search on a seed connection", "seed", "c2s", 27,
        {"query": "hi", "before_id": 0, "limit": 20}, "unknown_message")
    bad("search without limit", "v2", "c2s", 27, {"query": "hi", "before_id": 0}, "shape")
    bad("search with the query as bytes", "v2", "c2s", 27,
        {"query": b"hi", "before_id": 0, "limit": 20}, "shape")
    bad("search_results match as a dict", "v2", "s2c", 121,
        {"query": "hi", "more": False, "results": [
            {"notice": v2_notice(text_body("hi"), 2, "鲍勃", 0, T0, 1, 5),
             "matches": [{"start": 0, "length": 2}]}]}, "shape")
    return out


# ---------------------------------------------------------------------------
# large.json
# ---------------------------------------------------------------------------

PATTERN_LEN = 300 * 1024


def pattern_bytes(n):
    return bytes(i % 251 for i in range(n))


def expand_template(t, pattern):
    """A template in the JSON mapping with two additions: the str "$PATTERN"
    stands for the pattern's bytes, and an object {"$encoded": T} for a bytes
    value holding the encoding of the value T."""
    if t == "$PATTERN":
        return pattern
    if isinstance(t, Pairs) and len(t) == 1 and t[0][0] == "$encoded":
        return encode(expand_template(t[0][1], pattern))
    if isinstance(t, Pairs):  # before list: Pairs is a list
        if len(t) == 1 and t[0][0].startswith("$"):
            return from_json(t)  # a marker of the JSON mapping
        return {k: expand_template(x, pattern) for k, x in t}
    if isinstance(t, list):
        return [expand_template(x, pattern) for x in t]
    return from_json(t)


def large_cases():
    pattern = pattern_bytes(PATTERN_LEN)
    send = {"target_type": 0, "target_id": 2, "message": {"type": 1, "data": "$PATTERN"}}
    image_notice = lambda sender, name, ttype, t, target: {"$encoded": {
        "message": {"type": 1, "data": "$PATTERN"}, "sender_id": sender,
        "sender_name": name, "target_type": ttype, "time": t, "target_id": target}}
    bundle = {
        "rooms": [to_json(room_contact(ROOM))],
        "friends": [to_json(friend_contact(BOB)), to_json(friend_contact(CAROL))],
        "messages": [
            [image_notice(2, "鲍勃", 0, T0 + 1000, 1), 1],
            [image_notice(1, "Alice", 0, T0 + 2000, 2), 1],
            [image_notice(3, "小红 🌸", 1, T0 + 3000, 1), 0],
        ],
    }
    cases = []
    for name, dialect, mtype, template in [
            ("send_message with a 300 KB image", "seed", 6, send),
            ("send_message with a 300 KB image (v2)", "v2", 6, send),
            ("login_bundle with three 300 KB images in stored notices", "seed", 113, bundle)]:
        params = expand_template(json_loads(dumps(template)), pattern)
        data = encode_message(dialect, mtype, params)
        mt, back = decode_message(dialect, data)
        assert mt == mtype and canon(back) == canon(params)
        cases.append({"name": name, "dialect": dialect, "type": mtype,
                      "bytes_len": PATTERN_LEN, "pattern": "i % 251",
                      "params_template": template, "encoded_len": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    return cases, hashlib.sha256(pattern).hexdigest()


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

VALUES_DESCRIPTION = (
    "Test vectors of the value codec (layers 3-4, spec/protocol.md 'Values'). "
    "Written by spec/vectors/tools/make-value-vectors.py, an encoder and decoder "
    "implemented in Python from the spec's rules independently of the C code; "
    "do not edit by hand, change the generator and run it again. "
    "valid: {name, json, hex, limits?}: hex is the exact encoding of the value "
    "that json gives in the JSON mapping (spec/protocol.md 'The JSON mapping'); "
    "a decoder must accept hex and produce that value, an encoder must produce "
    "hex from it. invalid: {name, hex, error, offset, limits?}: decoding hex must "
    "fail with the error name (as chat_error_name) at the byte offset. limits, "
    "when present, replaces the named decoder limits (max_depth, max_str_len, "
    "max_bytes_len, max_items); the others keep their defaults (32, 2^20, 2^24, "
    "2^20). JSON integers go up to 2^64-1 and floats need exact (correctly "
    "rounded) parsing: read numbers with a parser that keeps them exact.")

MESSAGES_DESCRIPTION = (
    "Test vectors of layer 2 (spec/protocol.md 'Layer 2: messages'). Written by "
    "spec/vectors/tools/make-value-vectors.py (see values.json). "
    "valid: {name, dialect, message: {type, name, request_id?, params}, hex}: "
    "dialect 'seed' has a 1-byte message type, 'v2' a 4-byte big-endian header "
    "(bits 0-23 the type, bit 31 the REQUEST_ID flag, bits 24-30 reserved, zero) "
    "followed, when request_id is given, by the request id as a 4-byte "
    "big-endian integer (spec/protocol.md sections 3 and 5.7); params is in the "
    "JSON mapping; every message passes the catalogue check; seed-dialect "
    "vectors only use values a seed peer can read. invalid: {name, dialect, hex, "
    "error, offset}: decoding the message must fail with that error at that "
    "offset (counted from the first byte of the message). catalogue_invalid: "
    "{name, dialect, direction, hex, error}: the message decodes, and the "
    "catalogue check for a message received in that direction ('c2s': by a "
    "server, 's2c': by a client) and dialect then fails with unknown_message (a "
    "code not in the catalogue for that direction and dialect) or shape; that "
    "check works on the decoded tree, so no offset is given.")

LARGE_DESCRIPTION = (
    "Large messages given by recipe instead of bytes. For each case: build a "
    "byte string of bytes_len bytes where byte i (from 0) is i % 251 (the "
    "pattern; its SHA-256 is pattern_sha256). Build the parameters from "
    "params_template, which is in the JSON mapping with two additions: the str "
    "\"$PATTERN\" stands for a bytes value holding the pattern, and an object "
    "whose only key is \"$encoded\" stands for a bytes value holding the "
    "encoding (layer 3) of the value its member describes (itself a template). "
    "Encode the message (dialect, type, parameters) and compare: its length must "
    "be encoded_len and its SHA-256 sha256 (lowercase hex). Decoding those "
    "bytes must give the same parameters back. Written by "
    "spec/vectors/tools/make-value-vectors.py.")


def write_or_check(path, text, check):
    if check:
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            print("differs: " + path, file=sys.stderr)
        return same
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def render(top, list_keys):
    """JSON with one vector per line, for readable diffs."""
    lines = ["{"]
    keys = list(top)
    for i, k in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        if k in list_keys:
            items = top[k]
            lines.append("  %s: [" % json.dumps(k))
            for j, item in enumerate(items):
                lines.append("    " + dumps(item) + ("," if j + 1 < len(items) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append("  %s: %s%s" % (json.dumps(k), dumps(top[k]), comma))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # valid JSON
    return text


def main(argv):
    check = "--check" in argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    vectors = os.path.dirname(here)

    values = {"description": VALUES_DESCRIPTION, "valid": value_vectors(),
              "invalid": invalid_value_vectors()}
    messages = {"description": MESSAGES_DESCRIPTION, "valid": message_vectors(),
                "invalid": invalid_message_vectors(),
                "catalogue_invalid": catalogue_invalid_vectors()}
    cases, pattern_sha = large_cases()
    large = {"description": LARGE_DESCRIPTION, "pattern_sha256": pattern_sha,
             "cases": cases}

    ok = True
    ok &= write_or_check(os.path.join(vectors, "values.json"),
                         render(values, {"valid", "invalid"}), check)
    ok &= write_or_check(os.path.join(vectors, "messages.json"),
                         render(messages, {"valid", "invalid", "catalogue_invalid"}),
                         check)
    ok &= write_or_check(os.path.join(vectors, "large.json"),
                         render(large, {"cases"}), check)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
