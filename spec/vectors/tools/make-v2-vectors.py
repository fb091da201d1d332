#!/usr/bin/env python3
"""Generate spec/vectors/v2-channel.json: complete v2 secure-channel sessions
(preamble, Noise NX handshake, transport records) with fixed keys, as
described in protocol/v2-channel.h.

Independent of the C code: Noise NX is implemented here from the Noise
Protocol Framework specification (revision 34: sections 4, 5 and 7), with
X25519, AES-256-GCM and ChaCha20-Poly1305 from the Python `cryptography`
package and SHA-256 / HMAC from the standard library. Both sides of every
handshake are run, and the script checks that they agree (same handshake
hash, same split keys, server info decrypted by the client) and that every
record decrypts again, before anything is written.

Every key is derived from SHA-256 of a fixed label, so running the script
again writes the same file.

Each session has (spec/protocol.md section 8 describes every field):
  - the fixed private keys (client ephemeral, server ephemeral, server
    static) and the server's public key and fingerprint;
  - client_info and server_info: the payloads of handshake messages 1 and 2
    (encoded values, spec section 7.3: the client-info in the clear, the
    server-info as chatd 0.1.0 sends it with its default limits);
  - preamble, message1 and message2 exactly as on the wire (message1/2 with
    their u16 length prefix);
  - session_id, c2s_key, s2c_key (the key log values) and handshake_hash;
  - client_to_server and server_to_client: the records in wire order, each
    with its type, its plaintext (type byte + body) and its wire bytes
    (u16 length + ciphertext);
  - client_messages / server_messages: the application messages sent, in
    the order the C sender is asked to send them.
The sender parameters the records depend on: record_size (the largest
record length L a sender makes, lowered for the vector so that a 60-byte
message is fragmented; a receiver accepts every record up to 65535 bytes
and fragments of any size, so only the senders need it) and
client_rekey_bytes / server_rekey_bytes (a sender puts a REKEY record
before a data record once the record plaintext bytes, type byte included,
encrypted under its current key reach this number; REKEY and CLOSE records
do not count).

Usage: make-v2-vectors.py [OUTPUT]   (default: ../v2-channel.json)
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

HASHLEN = 32
DHLEN = 32
TAGLEN = 16
MAX_NONCE = 2**64 - 1

PREAMBLE_MAGIC = b"\x00CHAT"
VERSION = 2
RESERVED = 0

SUITES = {
    1: ("AESGCM", "Noise_NX_25519_AESGCM_SHA256"),
    2: ("ChaChaPoly", "Noise_NX_25519_ChaChaPoly_SHA256"),
}

RECORD_MESSAGE = 1
RECORD_BEGIN = 2
RECORD_CONTINUE = 3
RECORD_END = 4
RECORD_REKEY = 5
RECORD_CLOSE = 6
TYPE_NAMES = {1: "MESSAGE", 2: "MESSAGE_BEGIN", 3: "MESSAGE_CONTINUE",
              4: "MESSAGE_END", 5: "REKEY", 6: "CLOSE"}
RECORD_TYPE_LEN = 1
TOTAL_LEN_BYTES = 4


def label_bytes(label, n=32):
    return hashlib.sha256(label.encode()).digest()[:n]


# ---------------------------------------------------------------------------
# Noise (spec sections 4 and 5)

def x25519_public(priv):
    key = X25519PrivateKey.from_private_bytes(priv)
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def x25519_dh(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub))


def nonce_bytes(cipher, n):
    if cipher == "AESGCM":
        return b"\x00" * 4 + n.to_bytes(8, "big")
    return b"\x00" * 4 + n.to_bytes(8, "little")


def aead_encrypt(cipher, k, n, ad, plaintext):
    impl = AESGCM(k) if cipher == "AESGCM" else ChaCha20Poly1305(k)
    return impl.encrypt(nonce_bytes(cipher, n), plaintext, ad)


def aead_decrypt(cipher, k, n, ad, ciphertext):
    impl = AESGCM(k) if cipher == "AESGCM" else ChaCha20Poly1305(k)
    return impl.decrypt(nonce_bytes(cipher, n), ciphertext, ad)


def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf(ck, ikm, outputs):
    temp = hmac_sha256(ck, ikm)
    out1 = hmac_sha256(temp, b"\x01")
    out2 = hmac_sha256(temp, out1 + b"\x02")
    return (out1, out2) if outputs == 2 else (out1, out2, hmac_sha256(temp, out2 + b"\x03"))


class CipherState:
    def __init__(self, cipher, k=None):
        self.cipher = cipher
        self.k = k
        self.n = 0

    def encrypt(self, ad, plaintext):
        if self.k is None:
            return plaintext
        ct = aead_encrypt(self.cipher, self.k, self.n, ad, plaintext)
        self.n += 1
        return ct

    def decrypt(self, ad, ciphertext):
        if self.k is None:
            return ciphertext
        pt = aead_decrypt(self.cipher, self.k, self.n, ad, ciphertext)
        self.n += 1
        return pt

    def rekey(self):
        # Rekey(): k = first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros)
        self.k = aead_encrypt(self.cipher, self.k, MAX_NONCE, b"", b"\x00" * 32)[:32]


class SymmetricState:
    def __init__(self, cipher, protocol_name):
        name = protocol_name.encode()
        self.h = name + b"\x00" * (HASHLEN - len(name)) if len(name) <= HASHLEN \
            else hashlib.sha256(name).digest()
        self.ck = self.h
        self.cs = CipherState(cipher)
        self.cipher = cipher

    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()

    def mix_key(self, ikm):
        self.ck, temp_k = hkdf(self.ck, ikm, 2)
        self.cs = CipherState(self.cipher, temp_k[:32])

    def encrypt_and_hash(self, plaintext):
        ct = self.cs.encrypt(self.h, plaintext)
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ciphertext):
        pt = self.cs.decrypt(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return pt

    def split(self):
        k1, k2 = hkdf(self.ck, b"", 2)
        return CipherState(self.cipher, k1[:32]), CipherState(self.cipher, k2[:32])


def nx_handshake(suite, prologue, client_e, server_e, server_s, client_info, server_info):
    """Runs Noise NX (-> e / <- e, ee, s, es) on both sides."""
    cipher, name = SUITES[suite]
    init = SymmetricState(cipher, name)
    resp = SymmetricState(cipher, name)
    init.mix_hash(prologue)
    resp.mix_hash(prologue)

    # Message 1, initiator: -> e, payload = client info. No key yet, so
    # EncryptAndHash() leaves it in the clear and only hashes it.
    ce_pub = x25519_public(client_e)
    init.mix_hash(ce_pub)
    msg1 = ce_pub + init.encrypt_and_hash(client_info)
    assert msg1[DHLEN:] == client_info
    # Responder reads it.
    re = msg1[:DHLEN]
    resp.mix_hash(re)
    assert resp.decrypt_and_hash(msg1[DHLEN:]) == client_info

    # Message 2, responder: <- e, ee, s, es, payload = server info.
    se_pub = x25519_public(server_e)
    ss_pub = x25519_public(server_s)
    resp.mix_hash(se_pub)
    msg2 = se_pub
    resp.mix_key(x25519_dh(server_e, re))        # ee
    msg2 += resp.encrypt_and_hash(ss_pub)        # s
    resp.mix_key(x25519_dh(server_s, re))        # es (responder side)
    msg2 += resp.encrypt_and_hash(server_info)   # payload
    # Initiator reads it.
    pos = 0
    rse = msg2[pos:pos + DHLEN]
    pos += DHLEN
    init.mix_hash(rse)
    init.mix_key(x25519_dh(client_e, rse))       # ee
    rs = init.decrypt_and_hash(msg2[pos:pos + DHLEN + TAGLEN])
    pos += DHLEN + TAGLEN
    init.mix_key(x25519_dh(client_e, rs))        # es (initiator side)
    info = init.decrypt_and_hash(msg2[pos:])
    assert rs == ss_pub, "client learned the wrong static key"
    assert info == server_info, "server info did not survive"
    assert init.h == resp.h, "handshake hashes differ"

    c_send, c_recv = init.split()
    s_recv, s_send = resp.split()
    assert c_send.k == s_recv.k and c_recv.k == s_send.k
    return {
        "msg1": msg1, "msg2": msg2, "h": init.h,
        "c2s": (c_send, s_recv), "s2c": (s_send, c_recv),
        # The initial keys, before any REKEY changes the cipher states.
        "c2s_key": c_send.k, "s2c_key": s_send.k,
    }


# ---------------------------------------------------------------------------
# v2 records (protocol/v2-channel.h)

def u16(n):
    return struct.pack(">H", n)


def record_plaintexts(messages, record_size):
    """Yields the data record plaintexts of messages sent one after the other
    (no interleaving happens: each message is sent before the next is
    queued in the C test). Messages up to the record body size are one
    MESSAGE; longer ones BEGIN / CONTINUE / END."""
    body_max = record_size - TAGLEN - RECORD_TYPE_LEN
    for m in messages:
        if len(m) <= body_max:
            yield bytes([RECORD_MESSAGE]) + m
            continue
        first = body_max - TOTAL_LEN_BYTES
        yield bytes([RECORD_BEGIN]) + struct.pack(">I", len(m)) + m[:first]
        sent = first
        while len(m) - sent > body_max:
            yield bytes([RECORD_CONTINUE]) + m[sent:sent + body_max]
            sent += body_max
        yield bytes([RECORD_END]) + m[sent:]


def encrypt_direction(messages, record_size, rekey_bytes, send, recv):
    """The records of one direction: data records, REKEY before a data
    record once rekey_bytes plaintext bytes were encrypted under the current
    key, and a final CLOSE. recv decrypts each again as a check."""
    records = []
    counted = 0

    def emit(plaintext):
        ct = send.encrypt(b"", plaintext)
        assert recv.decrypt(b"", ct) == plaintext
        records.append({
            "type": plaintext[0],
            "type_name": TYPE_NAMES[plaintext[0]],
            "plaintext": plaintext.hex(),
            "record": (u16(len(ct)) + ct).hex(),
        })

    for pt in record_plaintexts(messages, record_size):
        if counted >= rekey_bytes:
            emit(bytes([RECORD_REKEY]))
            send.rekey()
            recv.rekey()
            counted = 0
        emit(pt)
        counted += len(pt)
    emit(bytes([RECORD_CLOSE]))
    return records


def value_str(s):
    b = s.encode()
    return bytes([3]) + struct.pack(">I", len(b)) + b


def value_uint(n):
    mag = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return bytes([1]) + struct.pack(">I", len(mag)) + mag


def value_dict(items):
    """A dict of the chat value codec (spec/protocol.md section 2), in the
    order given."""
    body = b"".join(bytes([len(k.encode())]) + k.encode() + v for k, v in items)
    return bytes([5]) + struct.pack(">I", len(body)) + body


def encode_server_info():
    """The server-info chatd 0.1.0 sends with its default limits
    (spec/protocol.md 7.3): {"server": "chatd 0.1.0", "max_message":
    16777216, "max_image": 8388608}."""
    return value_dict([("server", value_str("chatd 0.1.0")),
                       ("max_message", value_uint(16 * 1024 * 1024)),
                       ("max_image", value_uint(8 * 1024 * 1024))])


def encode_client_info():
    """A client-info (spec/protocol.md 7.3): {"client": "chat test client",
    "max_message": 268435456}."""
    return value_dict([("client", value_str("chat test client")),
                       ("max_message", value_uint(256 * 1024 * 1024))])


def fingerprint(pub):
    return "SHA256:" + base64.b64encode(hashlib.sha256(pub).digest()).decode().rstrip("=")


def make_session(name, suite):
    client_e = label_bytes(f"chat v2 vector {name} client ephemeral")
    server_e = label_bytes(f"chat v2 vector {name} server ephemeral")
    server_s = label_bytes(f"chat v2 vector {name} server static")
    server_info = encode_server_info()
    client_info = encode_client_info()
    preamble = PREAMBLE_MAGIC + bytes([VERSION, suite, RESERVED])
    hs = nx_handshake(suite, preamble, client_e, server_e, server_s, client_info, server_info)

    record_size = 64
    client_rekey_bytes = 256 * 1024 * 1024
    server_rekey_bytes = 16
    client_messages = [b"hello, server",
                       bytes((i * 7 + 3) % 256 for i in range(60))]
    server_messages = [b"welcome to the test server",
                       b"second message, after the rekey"]
    c2s = encrypt_direction(client_messages, record_size, client_rekey_bytes, *hs["c2s"])
    s2c = encrypt_direction(server_messages, record_size, server_rekey_bytes, *hs["s2c"])
    return {
        "name": name,
        "suite": suite,
        "protocol_name": SUITES[suite][1],
        "client_ephemeral_private": client_e.hex(),
        "client_ephemeral_public": x25519_public(client_e).hex(),
        "server_ephemeral_private": server_e.hex(),
        "server_static_private": server_s.hex(),
        "server_static_public": x25519_public(server_s).hex(),
        "server_static_fingerprint": fingerprint(x25519_public(server_s)),
        "client_info": client_info.hex(),
        "server_info": server_info.hex(),
        "record_size": record_size,
        "client_rekey_bytes": client_rekey_bytes,
        "server_rekey_bytes": server_rekey_bytes,
        "preamble": preamble.hex(),
        "message1": (u16(len(hs["msg1"])) + hs["msg1"]).hex(),
        "message2": (u16(len(hs["msg2"])) + hs["msg2"]).hex(),
        "handshake_hash": hs["h"].hex(),
        "session_id": hs["msg1"][:DHLEN].hex(),
        "c2s_key": hs["c2s_key"].hex(),
        "s2c_key": hs["s2c_key"].hex(),
        "client_messages": [m.hex() for m in client_messages],
        "server_messages": [m.hex() for m in server_messages],
        "client_to_server": c2s,
        "server_to_client": s2c,
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "v2-channel.json")
    doc = {
        "description": "v2 secure channel sessions (preamble, Noise NX handshake with the "
                       "client-info and server-info payloads, records) with fixed keys; "
                       "every field is described in spec/protocol.md section 8",
        "generator": "spec/vectors/tools/make-v2-vectors.py (Python cryptography, independent "
                     "of the C code)",
        "sessions": [make_session("aesgcm", 1), make_session("chachapoly", 2)],
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
