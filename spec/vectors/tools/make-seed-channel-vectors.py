#!/usr/bin/env python3
"""Generate spec/vectors/seed-channel.json: test vectors for the seed dialect's
secure channel (Diffie-Hellman start and AES-256-CBC frames), as described in
spec/protocol.md, section 7 "Secure channel: seed dialect" (the seed system's
own behaviour: section 5.9), with the error names and their order of section
8 ("seed-channel.json").

Independent of the C code: the big-number arithmetic is Python's own int and
pow(), SHA-256 is hashlib, and AES-256-CBC is the `openssl enc -aes-256-cbc
-nopad` command (every ciphertext is decrypted again with `openssl enc -d` as a
self-check). Every "random" value (private exponents, IVs, keys, plaintexts) is
derived from SHA-256 of a fixed label, so running the script again writes the
same file.

Usage: make-seed-channel-vectors.py [OUTPUT]   (default: ../seed-channel.json)
"""

import hashlib
import json
import os
import subprocess
import sys

# ---------------------------------------------------------------------------
# Groups

# RFC 3526, section 3: the 2048-bit MODP group (group 14), generator 2
# (the same hex as OpenSSL's built-in "modp_2048" group).
RFC3526_GROUP14_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF"
)
RFC3526_GROUP14 = int(RFC3526_GROUP14_HEX, 16)

# A 797-bit (240-digit, like the seed's own config numbers) safe prime
# p = 2q + 1, found by walking q upwards in steps of 12 from a hash-derived
# start (see find_safe_prime below; the search is re-run and checked here).
TEST797_BITS = 797
TEST797_LABEL = b"chat seed-channel test group 797"

SMALL_PRIMES = [n for n in range(3, 20000)
                if all(n % d for d in range(2, int(n ** 0.5) + 1))]
MILLER_RABIN_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47,
                      53, 59, 61, 67, 71, 73, 79, 83, 89, 97)


def is_probable_prime(n):
    if n < 2:
        return False
    for sp in SMALL_PRIMES:
        if n % sp == 0:
            return n == sp
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in MILLER_RABIN_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def expand(label, nbytes):
    """nbytes of deterministic pseudo-random data from a label."""
    out = b""
    counter = 0
    while len(out) < nbytes:
        out += hashlib.sha256(label + b"/" + str(counter).encode()).digest()
        counter += 1
    return out[:nbytes]


def find_safe_prime(bits, label):
    start = int.from_bytes(expand(label, (bits + 7) // 8), "big")
    q = (start % (1 << (bits - 2))) | (1 << (bits - 2))
    q = q - (q % 12) + 11          # q = 11 mod 12, so p = 2q+1 = 23 mod 24
    while True:
        p = 2 * q + 1
        if all(q % sp and p % sp for sp in SMALL_PRIMES) \
                and is_probable_prime(q) and is_probable_prime(p):
            return p
        q += 12


def nbytes(n):
    return (n.bit_length() + 7) // 8


def minimal_be(n):
    """Minimal big-endian unsigned encoding; zero is the single byte 0x00."""
    if n == 0:
        return b"\x00"
    return n.to_bytes(nbytes(n), "big")


def private_from_label(p, label):
    """A full-size exponent in [2, p-2], as the C code reduces random bits."""
    bits = p.bit_length()
    r = int.from_bytes(expand(label, (bits + 7) // 8), "big") >> (8 * ((bits + 7) // 8) - bits)
    return 2 + r % (p - 3)


# ---------------------------------------------------------------------------
# AES-256-CBC through the openssl command

def openssl_cbc(key, iv, data, decrypt=False):
    assert len(key) == 32 and len(iv) == 16 and len(data) % 16 == 0
    cmd = ["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv", iv.hex()]
    if decrypt:
        cmd.append("-d")
    out = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout
    assert len(out) == len(data)
    return out


def encrypt_padded(key, iv, padded):
    ct = openssl_cbc(key, iv, padded)
    assert openssl_cbc(key, iv, ct, decrypt=True) == padded
    return ct


def make_frame(key, iv, plaintext):
    n = (16 - len(plaintext) % 16) % 16
    ct = encrypt_padded(key, iv, plaintext + b"\x00" * n)
    return len(ct).to_bytes(4, "big") + bytes([n]) + iv + ct


# ---------------------------------------------------------------------------

def handshake(group_name, p, g, a, b, name, comment):
    A = pow(g, a, p)
    B = pow(g, b, p)
    s = pow(B, a, p)
    assert s == pow(A, b, p)
    for v in (A, B):
        assert 2 <= v <= p - 2
    key = hashlib.sha256(minimal_be(s)).digest()
    return {
        "name": name,
        "comment": comment,
        "group": group_name,
        "client_private": minimal_be(a).hex(),
        "server_private": minimal_be(b).hex(),
        "client_public": minimal_be(A).hex(),
        "server_public": minimal_be(B).hex(),
        "shared_secret": minimal_be(s).hex(),
        "shared_secret_bytes": len(minimal_be(s)),
        "key": key.hex(),
    }


def search_private(p, g, label, fixed_peer_public, want_short):
    """First counter i for which private_from_label(label/i) makes the
    selected value (own public if fixed_peer_public is None, else the shared
    secret with that peer) shorter than the modulus in minimal encoding."""
    k = nbytes(p)
    i = 0
    while True:
        x = private_from_label(p, label + b"/" + str(i).encode())
        v = pow(g, x, p) if fixed_peer_public is None else pow(fixed_peer_public, x, p)
        if (nbytes(v) < k) == want_short and 2 <= pow(g, x, p) <= p - 2:
            return x
        i += 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "seed-channel.json")

    p14, g14 = RFC3526_GROUP14, 2
    assert p14.bit_length() == 2048
    # RFC 3526 defines it as 2^2048 - 2^1984 - 1 + 2^64 * ([2^1918 pi] + 124476),
    # a safe prime; check the hex above against the latter property.
    assert is_probable_prime(p14) and is_probable_prime((p14 - 1) // 2)
    p797 = find_safe_prime(TEST797_BITS, TEST797_LABEL)
    assert p797.bit_length() == TEST797_BITS and len(str(p797)) == 240
    # A large base in the style of the seed's config: a hash-derived number
    # squared mod p, so it lies in the prime-order (q) subgroup.
    h = int.from_bytes(expand(b"chat seed-channel test group 797 base", 100), "big") % p797
    g797 = pow(h, 2, p797)
    assert 2 <= g797 <= p797 - 2 and pow(g797, (p797 - 1) // 2, p797) == 1

    groups = {
        "rfc3526-modp2048": {
            "comment": "RFC 3526 group 14 (2048-bit MODP), g = 2: the project's default config",
            "base": str(g14), "modulus": str(p14),
            "modulus_bits": p14.bit_length(), "modulus_bytes": nbytes(p14),
        },
        "test-safe-prime-797": {
            "comment": "a 797-bit (240-digit) safe prime found by this script; "
                       "base = (hash-derived)^2 mod p, a large base like the seed's config",
            "base": str(g797), "modulus": str(p797),
            "modulus_bits": p797.bit_length(), "modulus_bytes": nbytes(p797),
        },
    }

    handshakes = []
    for gname, p, g in (("rfc3526-modp2048", p14, g14), ("test-safe-prime-797", p797, g797)):
        a = private_from_label(p, b"client private " + gname.encode())
        b = private_from_label(p, b"server private " + gname.encode())
        handshakes.append(handshake(gname, p, g, a, b, gname + "/full-size-exponents",
                                    "full-size private exponents from SHA-256 of a label"))
        A = pow(g, a, p)
        b_short = search_private(p, g, b"server private short secret " + gname.encode(), A, True)
        hs = handshake(gname, p, g, a, b_short, gname + "/short-shared-secret",
                       "server exponent searched until the shared secret's minimal "
                       "encoding is shorter than the modulus (top byte zero): the key "
                       "hashes the short encoding, not a modulus-length one")
        assert hs["shared_secret_bytes"] < nbytes(p)
        handshakes.append(hs)
    # A public value shorter than the modulus (what the seed sends as-is).
    a_short = search_private(p14, g14, b"client private short public", None, True)
    b = private_from_label(p14, b"server private rfc3526-modp2048")
    hs = handshake("rfc3526-modp2048", p14, g14, a_short, b, "rfc3526-modp2048/short-client-public",
                   "client exponent searched until A's minimal encoding is shorter than the modulus")
    assert len(bytes.fromhex(hs["client_public"])) < nbytes(p14)
    handshakes.append(hs)
    # Small exponents, like the seed's own 12-bit primes (nothing on the wire
    # depends on the exponent size).
    handshakes.append(handshake("rfc3526-modp2048", p14, g14, 3203, 2999,
                                "rfc3526-modp2048/seed-style-12-bit-exponents",
                                "12-bit prime exponents, as the seed itself picks"))

    # Public values a peer must reject (per group).
    invalid_publics = []
    for gname, p in (("rfc3526-modp2048", p14), ("test-safe-prime-797", p797)):
        k = nbytes(p)
        cases = [
            ("empty", b"", "public_empty"),
            ("zero", b"\x00", "public_range"),
            ("all-zero-bytes", b"\x00" * k, "public_range"),
            ("one", b"\x01", "public_range"),
            ("p-minus-1", minimal_be(p - 1), "public_range"),
            ("p", minimal_be(p), "public_range"),
            ("p-plus-1", minimal_be(p + 1), "public_range"),
            ("all-ff-modulus-length", b"\xff" * k, "public_range"),
            ("longer-than-modulus", b"\x00" + minimal_be(2).rjust(k, b"\x00"), "public_too_long"),
            ("1024-bytes", b"\x01" * 1024, "public_too_long"),
        ]
        for cname, value, err in cases:
            invalid_publics.append({"name": gname + "/" + cname, "group": gname,
                                    "value": value.hex(), "error": err})
    # Boundary values that must be accepted.
    valid_publics = []
    for gname, p in (("rfc3526-modp2048", p14), ("test-safe-prime-797", p797)):
        k = nbytes(p)
        for cname, value in (("two", b"\x02"), ("p-minus-2", minimal_be(p - 2)),
                             ("two-padded-to-modulus-length", minimal_be(2).rjust(k, b"\x00"))):
            valid_publics.append({"name": gname + "/" + cname, "group": gname, "value": value.hex()})

    # Frames.
    hs_key = bytes.fromhex(handshakes[0]["key"])
    frames = []
    for length in (1, 15, 16, 17, 31, 32, 33, 300, 4096 + 7):
        key = hs_key if length in (1, 16, 300) else expand(b"frame key %d" % length, 32)
        iv = expand(b"frame iv %d" % length, 16)
        pt = expand(b"frame plaintext %d" % length, length)
        frames.append({"name": "plaintext-%d-bytes" % length, "key": key.hex(), "iv": iv.hex(),
                       "plaintext": pt.hex(), "frame": make_frame(key, iv, pt).hex()})
    # A layer-2 message: client_echo (3) of str "hello".
    echo = bytes([3, 3]) + (5).to_bytes(4, "big") + b"hello"
    iv = expand(b"frame iv echo", 16)
    frames.append({"name": "layer2-client-echo-hello", "key": hs_key.hex(), "iv": iv.hex(),
                   "plaintext": echo.hex(), "frame": make_frame(hs_key, iv, echo).hex()})

    # Invalid frames. Each names the error the receiver must report; max_frame
    # is the receiver's limit on L.
    default_max = 65536
    bad_key = expand(b"invalid frame key", 32)
    bad_iv = expand(b"invalid frame iv", 16)
    invalid = []

    def add_invalid(name, frame, error, comment, max_frame=default_max):
        invalid.append({"name": name, "comment": comment, "key": bad_key.hex(),
                        "max_frame": max_frame, "frame": frame.hex(), "error": error})

    body32 = encrypt_padded(bad_key, bad_iv, expand(b"invalid body", 32))
    add_invalid("length-not-multiple-of-16",
                (17).to_bytes(4, "big") + b"\x00" + bad_iv + body32[:17],
                "frame_misaligned", "L = 17")
    add_invalid("length-zero", (0).to_bytes(4, "big") + b"\x00" + bad_iv,
                "frame_empty", "L = 0: no ciphertext at all")
    add_invalid("pad-count-16", (16).to_bytes(4, "big") + b"\x10" + bad_iv + body32[:16],
                "pad_count", "n = 16 (a whole block of padding is never sent)")
    add_invalid("pad-count-255", (32).to_bytes(4, "big") + b"\xff" + bad_iv + body32,
                "pad_count", "n = 255")
    pt = b"thirteen byte"
    assert len(pt) == 13
    ct = encrypt_padded(bad_key, bad_iv, pt + b"\x00\x00\x01")
    add_invalid("nonzero-padding", (16).to_bytes(4, "big") + b"\x03" + bad_iv + ct,
                "padding", "n = 3 but the last padding byte decrypts to 0x01")
    pt = expand(b"over max", 80)
    add_invalid("length-over-max-frame", (80).to_bytes(4, "big") + b"\x00" + bad_iv
                + encrypt_padded(bad_key, bad_iv, pt),
                "frame_too_large", "L = 80 with max_frame = 64", max_frame=64)
    add_invalid("huge-length-header-only", (0xFFFFFFF0).to_bytes(4, "big"),
                "frame_too_large",
                "only the 4 length bytes: L = 0xFFFFFFF0 must be refused before "
                "anything is allocated or more bytes are read")
    # Several faults in one header: the first check in the order of section 8
    # (L is zero, L is not a multiple of 16, L is over max_frame, n is over 15)
    # names the error.
    add_invalid("length-zero-and-pad-count-16", (0).to_bytes(4, "big") + b"\x10" + bad_iv,
                "frame_empty", "L = 0 and n = 16: L is checked first")
    add_invalid("misaligned-and-over-max-frame", (0xFFFFFFF1).to_bytes(4, "big"),
                "frame_misaligned", "L = 0xFFFFFFF1: not a multiple of 16 (checked before "
                "max_frame)")
    add_invalid("over-max-frame-and-pad-count-16", (80).to_bytes(4, "big") + b"\x10" + bad_iv,
                "frame_too_large", "L = 80 with max_frame = 64, and n = 16: L is checked "
                "before n", max_frame=64)

    doc = {
        "description": (
            "Seed dialect secure channel (spec/protocol.md, section 7 'Secure channel: seed "
            "dialect'; error names and the order of the checks: section 8). Generated by spec/vectors/tools/make-seed-channel-vectors.py, independent "
            "of the C code: Python int/pow for Diffie-Hellman, hashlib SHA-256, and "
            "`openssl enc -aes-256-cbc -nopad` for AES. All byte strings are hex; big numbers "
            "are minimal big-endian unsigned (zero = 00); base and modulus are decimal strings. "
            "key = SHA-256(minimal shared secret). frame = u32 BE L | u8 n | 16-byte IV | "
            "AES-256-CBC(key, IV, plaintext || n zero bytes)."),
        "groups": groups,
        "handshakes": handshakes,
        "valid_publics": valid_publics,
        "invalid_publics": invalid_publics,
        "frames": frames,
        "invalid_frames": invalid,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
