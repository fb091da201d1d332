#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/fuzz-*.c) from
spec/vectors, so the seeds never drift from the vectors: one directory per
target under --out, one file per input, named after its vector.

Standard library only. Each target's input format is described at the top
of its fuzz-<target>.c; this script follows those descriptions."""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import sqlite3
import struct
import tempfile

DEFAULT_PORT = 8111  # protocol/chat-limits.h, CHAT_DEFAULT_PORT


def h(s):
    return bytes.fromhex(s)


class Seeds:
    def __init__(self, out):
        self.out = out
        self.count = 0

    def add(self, target, name, data):
        directory = os.path.join(self.out, target)
        os.makedirs(directory, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80] or "seed"
        path = os.path.join(directory, safe)
        n = 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(directory, "%s.%d" % (safe, n))
        with open(path, "wb") as f:
            f.write(data)
        self.count += 1


def load(vectors, name):
    with open(os.path.join(vectors, name), encoding="utf-8") as f:
        return json.load(f)


def value_seeds(seeds, values, messages):
    for kind in ("valid", "invalid"):
        for v in values[kind]:
            seeds.add("value", kind + "-" + v["name"], h(v["hex"]))
    for v in values["valid"]:
        text = json.dumps(v["json"], ensure_ascii=False)
        seeds.add("json-value", v["name"], text.encode("utf-8"))
    for v in messages["valid"]:
        text = json.dumps(v["message"], ensure_ascii=False)
        seeds.add("json-value", "message-" + v["name"], text.encode("utf-8"))
    for kind in ("valid", "invalid", "catalogue_invalid"):
        for v in messages[kind]:
            seeds.add("message-" + v["dialect"], kind + "-" + v["name"], h(v["hex"]))


def seed_channel_seeds(seeds, channel):
    handshakes = channel["handshakes"]
    first_of_group = {}
    for i, hs in enumerate(handshakes):
        first_of_group.setdefault(hs["group"], i)
        public = h(hs["client_public"])
        seeds.add("seed-channel", "handshake-" + hs["name"],
                  bytes([2 * i]) + struct.pack(">H", len(public)) + public)
    for kind in ("valid_publics", "invalid_publics"):
        for p in channel[kind]:
            i = first_of_group[p["group"]]
            public = h(p["value"])
            seeds.add("seed-channel", kind + "-" + p["name"],
                      bytes([2 * i]) + struct.pack(">H", len(public)) + public)
    for kind in ("frames", "invalid_frames"):
        for fr in channel[kind]:
            data = h(fr["key"]) + h(fr["frame"])
            seeds.add("seed-channel", kind + "-" + fr["name"], b"\x01" + data)
            seeds.add("seed-decoder", kind + "-" + fr["name"], data)


def v2_streams(session):
    c2s = h(session["preamble"]) + h(session["message1"])
    c2s += b"".join(h(r["record"]) for r in session["client_to_server"])
    s2c = h(session["message2"]) + b"".join(h(r["record"]) for r in session["server_to_client"])
    return c2s, s2c


def plaintext_records(records):
    out = b""
    for r in records:
        p = h(r["plaintext"])
        out += p[:1] + struct.pack(">H", len(p) - 1) + p[1:]
    return out


def v2_channel_seeds(seeds, v2):
    for i, s in enumerate(v2["sessions"]):
        c2s, s2c = v2_streams(s)
        name = s["name"]
        for target in ("v2-channel", "v2-decoder"):
            seeds.add(target, name + "-client-to-server", bytes([i << 1]) + c2s)
            seeds.add(target, name + "-server-to-client", bytes([(i << 1) | 1]) + s2c)
        seeds.add("v2-channel", name + "-records-to-server",
                  bytes([(i << 1) | 4]) + plaintext_records(s["client_to_server"]))
        seeds.add("v2-channel", name + "-records-to-client",
                  bytes([(i << 1) | 5]) + plaintext_records(s["server_to_client"]))


# ---- captures (chatctl dump) ----

def pcap(packets):
    """A classic pcap file, Ethernet link type, microsecond times."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for n, frame in enumerate(packets):
        out += struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame
    return out


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    total = 20 + len(tcp)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ether = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return ether + ip + tcp


def tcp_session(client_chunks, server_chunks):
    """SYN, SYN-ACK, ACK, then the chunks in turn (client first), then FINs."""
    c, s = [10, 0, 0, 1], [10, 0, 0, 2]
    cp, sp = 40000, DEFAULT_PORT
    cseq, sseq = 1000, 5000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    packets = [ipv4_tcp(c, s, cp, sp, cseq, 0, SYN, b""),
               ipv4_tcp(s, c, sp, cp, sseq, cseq + 1, SYN | ACK, b""),
               ipv4_tcp(c, s, cp, sp, cseq + 1, sseq + 1, ACK, b"")]
    cseq += 1
    sseq += 1
    for i in range(max(len(client_chunks), len(server_chunks))):
        if i < len(client_chunks) and client_chunks[i]:
            packets.append(ipv4_tcp(c, s, cp, sp, cseq, sseq, PSH | ACK, client_chunks[i]))
            cseq += len(client_chunks[i])
        if i < len(server_chunks) and server_chunks[i]:
            packets.append(ipv4_tcp(s, c, sp, cp, sseq, cseq, PSH | ACK, server_chunks[i]))
            sseq += len(server_chunks[i])
    packets.append(ipv4_tcp(c, s, cp, sp, cseq, sseq, FIN | ACK, b""))
    packets.append(ipv4_tcp(s, c, sp, cp, sseq, cseq + 1, FIN | ACK, b""))
    return pcap(packets)


def dump_seeds(seeds, v2, channel):
    for s in v2["sessions"]:
        client = [h(s["preamble"]) + h(s["message1"])]
        client += [h(r["record"]) for r in s["client_to_server"]]
        server = [h(s["message2"])] + [h(r["record"]) for r in s["server_to_client"]]
        seeds.add("dump", "v2-" + s["name"] + ".pcap", tcp_session(client, server))
    for hs in channel["handshakes"]:
        seeds.add("dump", "seed-" + hs["name"] + ".pcap",
                  tcp_session([h(hs["client_public"])], [h(hs["server_public"])]))


# ---- files: known_hosts, server key, key log, config ----

def file_seeds(seeds, v2, channel, config_path):
    fingerprints = [s["server_static_fingerprint"] for s in v2["sessions"]]
    known = "# known hosts\nexample.org:8111 %s\n127.0.0.1:8111 %s\n[::1]:8111 %s\n" % (
        fingerprints[0], fingerprints[-1], fingerprints[0])
    seeds.add("known-hosts", "three-hosts", known.encode())
    seeds.add("known-hosts", "empty", b"")
    for s in v2["sessions"]:
        key = base64.b64encode(h(s["server_static_private"])).decode()
        text = "# chat server key (X25519 private key, base64)\n%s\n" % key
        seeds.add("server-key", s["name"], text.encode())
    lines = ["# key log"]
    for s in v2["sessions"]:
        lines.append("CHAT_V2_C2S_KEY %s %s" % (s["session_id"], s["c2s_key"]))
        lines.append("CHAT_V2_S2C_KEY %s %s" % (s["session_id"], s["s2c_key"]))
    for hs in channel["handshakes"]:
        sid = hashlib.sha256(h(hs["client_public"])).hexdigest()
        lines.append("CHAT_SEED_KEY %s %s" % (sid, hs["key"]))
    seeds.add("keylog", "vector-sessions", ("\n".join(lines) + "\n").encode())
    with open(config_path, "rb") as f:
        seeds.add("chatd-config", "config.json", f.read())


# ---- a seed database (chatd --import-seed) ----

SEED_SCHEMA = """
CREATE TABLE "chat_history" ("id" INTEGER NOT NULL, "user_id" INTEGER, "target_id" INTEGER,
  "target_type" TEXT, "data" BLOB, "sent" INTEGER, PRIMARY KEY ("id" ASC));
CREATE TABLE "friends" ("from_user_id" INTEGER NOT NULL, "to_user_id" INTEGER NOT NULL,
  "accepted" TEXT, PRIMARY KEY ("from_user_id" ASC, "to_user_id"));
CREATE TABLE "rooms" ("id" INTEGER NOT NULL, "room_name" TEXT, PRIMARY KEY ("id"));
CREATE TABLE "room_user" ("id" INTEGER, "room_id" INTEGER, "user_id" INTEGER, PRIMARY KEY ("id"));
CREATE TABLE "users" ("id" INTEGER NOT NULL, "username" TEXT, "password" TEXT, "nickname" TEXT,
  PRIMARY KEY ("id"));
"""


def import_seeds(seeds, messages):
    notices = [h(v["hex"])[1:] for v in messages["valid"]
               if v["dialect"] == "seed" and v["message"]["name"] == "on_new_message"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "database.db")
        db = sqlite3.connect(path)
        db.executescript(SEED_SCHEMA)
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        db.executemany("INSERT INTO users VALUES (?, ?, ?, ?)",
                       [(1, "alice", md5("pw1"), "Alice"), (2, "bob", md5("pw2"), "Bob"),
                        (3, "carol", md5("pw3"), "Carol")])
        db.executemany("INSERT INTO friends VALUES (?, ?, ?)",
                       [(1, 2, "1"), (2, 1, "1"), (3, 1, "0")])
        db.execute("INSERT INTO rooms VALUES (7, 'lobby')")
        db.executemany("INSERT INTO room_user VALUES (?, ?, ?)", [(1, 7, 1), (2, 7, 2)])
        for i, notice in enumerate(notices):
            db.execute("INSERT INTO chat_history VALUES (?, ?, ?, ?, ?, ?)",
                       (i + 1, 1 + i % 2, 2 - i % 2, "0", notice, 1700000000000 + i))
        db.commit()
        db.close()
        with open(path, "rb") as f:
            seeds.add("import-seed", "three-users-a-room-history.db", f.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", required=True, help="spec/vectors")
    parser.add_argument("--config", required=True, help="the repository's config.json")
    parser.add_argument("--out", required=True, help="directory to (re)write")
    parser.add_argument("--stamp", help="file to touch when done")
    args = parser.parse_args()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    seeds = Seeds(args.out)
    values = load(args.vectors, "values.json")
    messages = load(args.vectors, "messages.json")
    channel = load(args.vectors, "seed-channel.json")
    v2 = load(args.vectors, "v2-channel.json")
    value_seeds(seeds, values, messages)
    seed_channel_seeds(seeds, channel)
    v2_channel_seeds(seeds, v2)
    dump_seeds(seeds, v2, channel)
    file_seeds(seeds, v2, channel, args.config)
    import_seeds(seeds, messages)
    if args.stamp:
        with open(args.stamp, "w", encoding="utf-8") as f:
            f.write("%d seeds\n" % seeds.count)


if __name__ == "__main__":
    main()
