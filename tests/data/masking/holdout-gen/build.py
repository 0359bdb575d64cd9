#!/usr/bin/env python3
"""Throwaway builder for the held-out masking set.

The sentences live in rows_<lang>.txt, one hand-written message per line:

    <id-number> <text with inline marks>

Marks (chosen so they never occur in real chat):
    ⟦kind:value⟧   a secret   (value is typed by hand, or @@token = generated here)
    ⟪kind:value⟫   a keep     (same)

Only LONG random values are generated (keys, hashes, signatures, addresses, card
numbers, WIF keys, mnemonics, resident numbers, API secrets, Luhn-valid order
numbers).  Everything else is typed by hand in the row files.  A token may carry a
label (@@eth#a) so the same generated value can be reused in one row.

A literal "\\n" in a row line becomes a newline in the text.
Output: ../holdout.jsonl and generated_values.json (what was generated, per token).
"""
import hashlib
import json
import os
import random
import re
import sys
import unicodedata

import base58
from Crypto.Hash import keccak
from mnemonic import Mnemonic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "holdout.jsonl")
rng = random.Random(20241204)

SECRET_ALIASES = {
    "pw": "password", "otp": "otp", "pin": "pin", "seed": "seed_phrase",
    "hex": "private_key_hex", "b58": "private_key_base58", "wif": "wif_key",
    "card": "card_number", "rrn": "resident_number", "api": "api_secret",
}
KEEP_ALIASES = {
    "tkt": "ticket_id", "ord": "order_id", "tx": "txid", "addr": "address",
    "amt": "amount", "date": "date", "time": "time", "ph4": "phone_last4", "uid": "uid",
}

B58_BTC = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B58_XRP = b"rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"


def rbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def luhn_complete(partial):
    """partial: 15 digits -> 16-digit Luhn-valid string."""
    for d in "0123456789":
        s = partial + d
        tot = 0
        for i, ch in enumerate(reversed(s)):
            v = int(ch)
            if i % 2 == 1:
                v *= 2
                if v > 9:
                    v -= 9
            tot += v
        if tot % 10 == 0:
            return s
    raise AssertionError


FW = str.maketrans("0123456789", "０１２３４５６７８９")


def gen_card(sep):
    prefix = rng.choice(["4", "5" + str(rng.randint(1, 5)), "4", "5" + str(rng.randint(1, 5))])
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(prefix)))
    n = luhn_complete(body)
    groups = [n[i:i + 4] for i in range(0, 16, 4)]
    if sep == "fw":
        return " ".join(groups).translate(FW)
    return {"": "", "sp": " ", "dash": "-"}[sep].join(groups)


def gen_luhn16(fw=False):
    body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(14))
    n = luhn_complete(body)
    return n.translate(FW) if fw else n


def gen_wif(kind):
    while True:
        k = rbytes(32)
        if kind == "5":
            w = base58.b58encode_check(b"\x80" + k).decode()
        else:
            w = base58.b58encode_check(b"\x80" + k + b"\x01").decode()
        if w[0] == kind:
            return w


def gen_b58_64(length=None):
    while True:
        s = base58.b58encode(rbytes(64)).decode()
        if length is None and len(s) in (87, 88):
            return s
        if len(s) == length:
            return s


def eip55(addr_hex):
    h = keccak.new(digest_bits=256, data=addr_hex.encode()).hexdigest()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c
                          for i, c in enumerate(addr_hex))


# bech32 (BIP-173 reference)
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32_hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def convertbits(data, frombits, tobits, pad=True):
    acc = 0
    bits = 0
    ret = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad and bits:
        ret.append((acc << (tobits - bits)) & maxv)
    return ret


def gen_btc():
    prog = rbytes(20)
    data = [0] + convertbits(prog, 8, 5)
    values = bech32_hrp_expand("bc") + data
    polymod = bech32_polymod(values + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(CHARSET[d] for d in data + checksum)


def gen_tron():
    return base58.b58encode_check(b"\x41" + rbytes(20)).decode()


def gen_xrp():
    return base58.b58encode_check(b"\x00" + rbytes(20), alphabet=B58_XRP).decode()


def gen_sol():
    while True:
        s = base58.b58encode(rbytes(32)).decode()
        if len(s) in (43, 44):
            return s


def gen_rrn():
    yy = rng.randint(60, 105)
    mm = rng.randint(1, 12)
    dd = rng.randint(1, 28)
    if yy >= 100:
        yy -= 100
        g = rng.choice("34")
    else:
        g = rng.choice("12")
    first = f"{yy:02d}{mm:02d}{dd:02d}" + g + "".join(str(rng.randint(0, 9)) for _ in range(5))
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * w[i] for i, c in enumerate(first))
    check = (11 - s % 11) % 10
    full = first + str(check)
    return full[:6] + "-" + full[6:]


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def gen_api(n, style="mixed"):
    if style == "hex":
        return rbytes(n // 2 + 1).hex()[:n]
    return "".join(rng.choice(ALNUM) for _ in range(n))


MN_LANG = {"en": "english", "ko": "korean", "ja": "japanese",
           "zhs": "chinese_simplified", "zht": "chinese_traditional"}
MN = {k: Mnemonic(v) for k, v in MN_LANG.items()}


def gen_seed(lang, n, sep):
    strength = {12: 128, 24: 256}[n]
    phrase = MN[lang].to_mnemonic(rbytes(strength // 8))
    words = phrase.split("\u3000") if lang == "ja" else phrase.split(" ")
    words = [unicodedata.normalize("NFC", w) for w in words]
    assert len(words) == n
    if sep == "sp":
        return " ".join(words)
    if sep == "ideo":
        return "\u3000".join(words)
    if sep == "comma":
        return ", ".join(words)
    if sep == "commanosp":
        return ",".join(words)
    if sep == "fwcomma":
        return "，".join(words)
    if sep == "num":
        return " ".join(f"{i + 1}.{w}" for i, w in enumerate(words))
    if sep == "numsp":
        return " ".join(f"{i + 1}. {w}" for i, w in enumerate(words))
    if sep == "nl":
        return "\n".join(words)
    raise ValueError(sep)


def generate(token):
    t = token
    if t in ("hex", "HEX", "hex0x", "HEX0x", "txhex", "TXHEX", "tx0x"):
        h = rbytes(32).hex()
        if t in ("HEX", "HEX0x", "TXHEX"):
            h = h.upper()
        if t.endswith("0x"):
            h = "0x" + h
        return h
    if t in ("b58", "sig"):
        return gen_b58_64()
    if t in ("b58_87", "sig87"):
        return gen_b58_64(87)
    if t in ("b58_88", "sig88"):
        return gen_b58_64(88)
    if t.startswith("wif"):
        return gen_wif(t[3])
    if t.startswith("card"):
        return gen_card(t[5:] if "_" in t else "")
    if t == "luhn16":
        return gen_luhn16()
    if t == "luhn16fw":
        return gen_luhn16(True)
    if t == "eth":
        return eip55(rbytes(20).hex())
    if t == "ethlow":
        return "0x" + rbytes(20).hex()
    if t == "tron":
        return gen_tron()
    if t == "btc":
        return gen_btc()
    if t == "xrp":
        return gen_xrp()
    if t == "sol":
        return gen_sol()
    if t == "rrn":
        return gen_rrn()
    m = re.fullmatch(r"api(\d+)(hex)?", t)
    if m:
        return gen_api(int(m.group(1)), "hex" if m.group(2) else "mixed")
    m = re.fullmatch(r"seed_(en|ko|ja|zhs|zht)_(12|24)_(\w+)", t)
    if m:
        return gen_seed(m.group(1), int(m.group(2)), m.group(3))
    raise ValueError("unknown token " + t)


MARK = re.compile(r"([⟦⟪])([a-z0-9]+):(.*?)([⟧⟫])", re.S)


def build():
    generated = {}
    rows = []
    for lang in ("ko", "en", "zh", "ja"):
        path = os.path.join(HERE, f"rows_{lang}.txt")
        if not os.path.exists(path):
            print("missing", path); continue
        labels = {}
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                num, _, body = line.partition(" ")
                body = body.replace("\\n", "\n")
                secrets, keep = [], []

                def repl(m):
                    open_, kind, value, close = m.groups()
                    if (open_ == "⟦") != (close == "⟧"):
                        raise ValueError(f"{path}:{lineno}: mismatched brackets")
                    if value.startswith("@@"):
                        tok, _, label = value[2:].partition("#")
                        key = (tok, label) if label else None
                        if key and key in labels:
                            value = labels[key]
                        else:
                            value = generate(tok)
                            if key:
                                labels[key] = value
                        generated.setdefault(f"{lang}-{num}", []).append({"token": tok, "value": value})
                    if open_ == "⟦":
                        secrets.append({"kind": SECRET_ALIASES[kind], "value": value})
                    else:
                        keep.append({"kind": KEEP_ALIASES[kind], "value": value})
                    return value

                text = MARK.sub(repl, body)
                if "⟦" in text or "⟪" in text or "⟧" in text or "⟫" in text:
                    raise ValueError(f"{path}:{lineno}: leftover mark")
                text = unicodedata.normalize("NFC", text)
                def dedup(lst):
                    seen, out = set(), []
                    for d in lst:
                        k = (d["kind"], d["value"])
                        if k not in seen:
                            seen.add(k)
                            out.append(d)
                    return out
                rows.append({"id": f"h-{lang}-{int(num):03d}", "lang": lang, "text": text,
                             "secrets": dedup(secrets), "keep": dedup(keep)})
    with open(OUT, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "generated_values.json"), "w", encoding="utf-8") as f:
        json.dump(generated, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(rows)} rows to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    build()
