#!/usr/bin/env python3
"""Validator for holdout.jsonl (independent of build.py: it re-checks everything from the
JSONL alone).  Usage: python validate.py [path/to/holdout.jsonl] [--markdown]

Checks: valid JSON, field set, unique ids, id/lang agreement, NFC text, every value an exact
substring of its text, known kinds (resident_number Korean only), keep spans never overlapping
secret spans, no long unlabelled token left in a text, and per-kind shapes: lengths, alphabets,
Luhn, base58check (WIF, TRON, XRP), bech32, EIP-55 (mixed-case ETH), BIP-39 word lists and
checksum, Korean resident number check digit and birth date.
Prints counts per kind and language and a final "N errors" line.
"""
import collections
import datetime
import hashlib
import json
import os
import re
import sys
import unicodedata

import base58
from Crypto.Hash import keccak
from mnemonic import Mnemonic

HERE = os.path.dirname(os.path.abspath(__file__))
LANGS = ["ko", "en", "zh", "ja"]
SECRET_KINDS = ["password", "otp", "pin", "seed_phrase", "private_key_hex", "private_key_base58",
                "wif_key", "card_number", "resident_number", "api_secret"]
KEEP_KINDS = ["ticket_id", "order_id", "txid", "address", "amount", "date", "time",
              "phone_last4", "uid"]
MINIMUMS = {"password": 70, "otp": 70, "pin": 35, "seed_phrase": 20, "private_key_hex": 20,
            "private_key_base58": 16, "wif_key": 14, "card_number": 24, "resident_number": 8,
            "api_secret": 16, "ticket_id": 20, "order_id": 25, "txid": 30, "address": 40,
            "amount": 70, "date": 30, "time": 25, "phone_last4": 16, "uid": 30}
ROWS_PER_LANG_MIN = 80

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B58_XRP = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
FW_DIGITS = "０１２３４５６７８９"
TO_ASCII = str.maketrans(FW_DIGITS, "0123456789")

WORDLISTS = {}
for name in ["english", "korean", "japanese", "chinese_simplified", "chinese_traditional"]:
    m = Mnemonic(name)
    WORDLISTS[name] = [unicodedata.normalize("NFC", w) for w in m.wordlist]
WORDINDEX = {k: {w: i for i, w in enumerate(v)} for k, v in WORDLISTS.items()}


def luhn_ok(digits):
    tot = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        tot += v
    return tot % 10 == 0


def b58decode(s, alphabet=B58):
    n = 0
    for ch in s:
        if ch not in alphabet:
            return None
        n = n * 58 + alphabet.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(s) - len(s.lstrip(alphabet[0]))
    return b"\x00" * pad + raw


def b58check(s, alphabet=B58):
    raw = b58decode(s, alphabet)
    if raw is None or len(raw) < 5:
        return None
    body, chk = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != chk:
        return None
    return body


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_ok(addr):
    addr = addr.lower()
    if not addr.startswith("bc1"):
        return False
    data = []
    for c in addr[3:]:
        if c not in BECH32:
            return False
        data.append(BECH32.index(c))
    hrp = "bc"
    values = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + data
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk == 1 and data[0] == 0 and len(addr) in (42, 62)


def eip55_ok(a):
    h = a[2:]
    if h == h.lower() or h == h.upper():
        return True
    k = keccak.new(digest_bits=256, data=h.lower().encode()).hexdigest()
    for i, c in enumerate(h):
        if c.isalpha() and (c.isupper() != (int(k[i], 16) >= 8)):
            return False
    return True


def split_seed(value):
    s = value.replace("\u3000", " ").replace(",", " ").replace("、", " ").replace("，", " ").replace("\n", " ")
    s = re.sub(r"(?:(?<=\s)|^)\d{1,2}[.)]\s*", " ", s)
    return [w for w in s.split() if w]


def seed_check(value):
    words = split_seed(value)
    if len(words) not in (12, 24):
        return None, f"{len(words)} words"
    for lang, idx in WORDINDEX.items():
        if all(w in idx for w in words):
            bits = "".join(format(idx[w], "011b") for w in words)
            cs = len(bits) // 33
            ent = bits[:-cs]
            entropy = int(ent, 2).to_bytes(len(ent) // 8, "big")
            want = format(hashlib.sha256(entropy).digest()[0], "08b")[:cs]
            if bits[-cs:] != want:
                return lang, "bad checksum"
            return lang, None
    return None, "words not all in one BIP-39 list"


def rrn_ok(v):
    m = re.fullmatch(r"(\d{2})(\d{2})(\d{2})-(\d)(\d{6})", v)
    if not m:
        return "shape"
    yy, mm, dd, g = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    if g not in "1234":
        return "gender/century digit"
    year = (1900 if g in "12" else 2000) + yy
    try:
        datetime.date(year, mm, dd)
    except ValueError:
        return "birth date"
    d = v.replace("-", "")
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(d[i]) * w[i] for i in range(12))
    if (11 - s % 11) % 10 != int(d[12]):
        return "check digit"
    return None


def digits_of(v):
    return v.translate(TO_ASCII)


def check_secret(kind, v, lang, variants):
    a = digits_of(v)
    if kind == "password":
        if v != v.strip():
            return "leading/trailing space"
        if v[0] in "\"'“”「『（(【[" or v[-1] in "\"'“”」』）)】]":
            return "quote or bracket included"
        if not 4 <= len(v) <= 64:
            return "length"
        return None
    if kind == "otp":
        if not re.fullmatch(r"\d+(?:[ \-]\d+)*", a):
            return "otp alphabet/separators"
        d = re.sub(r"[ \-]", "", a)
        if len(d) not in (4, 6, 8):
            return f"otp length {len(d)}"
        if any(c in FW_DIGITS for c in v):
            if any(c in "0123456789" for c in v):
                return "mixed full-width/ascii"
            variants["otp:full-width"] += 1
        if " " in v:
            variants["otp:spaced"] += 1
        if "-" in v:
            variants["otp:hyphenated"] += 1
        variants[f"otp:{len(d)} digits"] += 1
        return None
    if kind == "pin":
        if not re.fullmatch(r"\d{4}|\d{6}", a):
            return "pin must be 4 or 6 digits"
        if a != v:
            variants["pin:full-width"] += 1
        return None
    if kind == "seed_phrase":
        wl, err = seed_check(v)
        if err:
            return err
        variants[f"seed:{wl}:{len(split_seed(v))}"] += 1
        return None
    if kind == "private_key_hex":
        if not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", v):
            return "hex shape"
        h = v[2:] if v.startswith("0x") else v
        if h != h.lower() and h != h.upper():
            return "mixed case hex"
        variants["hex:" + ("0x" if v.startswith("0x") else "bare") + ("/upper" if h == h.upper() and not h.isdigit() else "/lower")] += 1
        return None
    if kind == "private_key_base58":
        raw = b58decode(v)
        if raw is None or len(v) not in (87, 88) or len(raw) != 64:
            return "base58 64-byte key shape"
        variants[f"b58:{len(v)} chars"] += 1
        return None
    if kind == "wif_key":
        body = b58check(v)
        if body is None:
            return "base58check"
        if body[0] != 0x80:
            return "version byte"
        if v[0] == "5" and len(v) == 51 and len(body) == 33:
            variants["wif:uncompressed 5"] += 1
            return None
        if v[0] in "KL" and len(v) == 52 and len(body) == 34 and body[-1] == 1:
            variants[f"wif:compressed {v[0]}"] += 1
            return None
        return "wif prefix/length"
    if kind == "card_number":
        if not re.fullmatch(r"\d{4}([ \-]?)\d{4}\1\d{4}\1\d{4}", a):
            return "card shape"
        d = re.sub(r"[ \-]", "", a)
        if not luhn_ok(d):
            return "Luhn"
        variants["card:" + ("full-width" if a != v else "spaces" if " " in v else "dashes" if "-" in v else "plain")] += 1
        return None
    if kind == "resident_number":
        if lang != "ko":
            return "resident_number outside Korean rows"
        return rrn_ok(v)
    if kind == "api_secret":
        if not re.fullmatch(r"[A-Za-z0-9]{32,64}", v):
            return "api secret must be 32-64 alphanumerics"
        return None
    return "unknown secret kind"


def address_type(v):
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", v):
        return "eth" if eip55_ok(v) else None
    if v.startswith("T") and len(v) == 34:
        body = b58check(v)
        return "tron" if body and body[0] == 0x41 and len(body) == 21 else None
    if v.lower().startswith("bc1"):
        return "btc-bech32" if bech32_ok(v) else None
    if v.startswith("r") and 25 <= len(v) <= 35:
        body = b58check(v, B58_XRP)
        if body and body[0] == 0 and len(body) == 21:
            return "xrp"
    if re.fullmatch(r"\d{1,10}", digits_of(v)):
        return "xrp-tag"
    raw = b58decode(v)
    if raw is not None and len(raw) == 32 and 32 <= len(v) <= 44:
        return "sol"
    return None


def check_keep(kind, v, row, variants):
    a = digits_of(v)
    if kind == "txid":
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", v):
            variants["txid:hex" + ("/0x" if v.startswith("0x") else "/bare")] += 1
            return None
        raw = b58decode(v)
        if raw is not None and len(v) in (87, 88) and len(raw) == 64:
            variants["txid:solana signature"] += 1
            return None
        return "txid shape"
    if kind == "address":
        t = address_type(v)
        if t is None:
            return "address not ETH/TRON/BTC-bech32/SOL/XRP(+tag)"
        if t == "xrp-tag" and not any(address_type(k["value"]) == "xrp" for k in row["keep"]):
            return "destination tag without an XRP address in the row"
        variants["address:" + t] += 1
        return None
    if kind == "uid":
        if not re.fullmatch(r"\d{8,10}", a):
            return "uid must be 8-10 digits"
        return None
    if kind == "phone_last4":
        if not re.fullmatch(r"\d{4}", a):
            return "phone_last4 must be 4 digits"
        return None
    if kind == "order_id":
        d = a
        if re.fullmatch(r"\d{16}", d):
            variants["order_id:16 digits " + ("Luhn-valid" if luhn_ok(d) else "not Luhn")] += 1
        if d != v:
            variants["order_id:full-width"] += 1
        if re.fullmatch(r"\d{6}", d):
            variants["order_id:6 digits"] += 1
        return None if re.search(r"\d", a) else "order_id without digits"
    if kind == "ticket_id":
        return None if re.search(r"\d", a) else "ticket_id without digits"
    if kind in ("amount", "date"):
        return None if re.search(r"\d", a) else f"{kind} without digits"
    if kind == "time":
        if not re.search(r"\d", a):
            return "time without digits"
        if not re.search(r":|am|pm|AM|PM|時|点|點|시|분|半", v):
            return "time without a time marker"
        return None
    return "unknown keep kind"


def spans(text, value):
    out, start = [], 0
    while True:
        i = text.find(value, start)
        if i < 0:
            return out
        out.append((i, i + len(value)))
        start = i + 1


LONG_TOKEN = re.compile(r"[0-9A-Za-z]{25,}")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else os.path.join(HERE, "..", "holdout.jsonl")
    errors = []
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: invalid JSON: {e}")
    ids = collections.Counter(r.get("id") for r in rows)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"{i}: duplicate id ({c} times)")
    values = collections.defaultdict(collections.Counter)   # kind -> lang -> n values
    rowsk = collections.defaultdict(collections.Counter)    # kind -> lang -> n rows
    rowstat = collections.defaultdict(collections.Counter)  # stat -> lang
    variants = collections.Counter()
    for r in rows:
        rid = r.get("id", "?")
        if set(r) != {"id", "lang", "text", "secrets", "keep"}:
            errors.append(f"{rid}: fields {sorted(r)}")
            continue
        lang, text = r["lang"], r["text"]
        if lang not in LANGS:
            errors.append(f"{rid}: bad lang {lang}")
            continue
        if not re.fullmatch(rf"h-{lang}-\d{{3}}", rid):
            errors.append(f"{rid}: id does not match h-{lang}-NNN")
        if unicodedata.normalize("NFC", text) != text:
            errors.append(f"{rid}: text not NFC")
        sec_spans, keep_spans = [], []
        covered = []
        for side, kinds in (("secrets", SECRET_KINDS), ("keep", KEEP_KINDS)):
            seen = set()
            for item in r[side]:
                if set(item) != {"kind", "value"}:
                    errors.append(f"{rid}: {side} item fields {sorted(item)}")
                    continue
                k, v = item["kind"], item["value"]
                if k not in kinds:
                    errors.append(f"{rid}: {side} has unknown kind {k}")
                    continue
                if (k, v) in seen:
                    errors.append(f"{rid}: duplicate {k} {v!r}")
                seen.add((k, v))
                if not v or v not in text:
                    errors.append(f"{rid}: {k} value {v!r} is not a substring of text")
                    continue
                if unicodedata.normalize("NFC", v) != v:
                    errors.append(f"{rid}: value not NFC")
                sp = spans(text, v)
                covered += sp
                (sec_spans if side == "secrets" else keep_spans).extend((s, e, v) for s, e in sp)
                err = check_secret(k, v, lang, variants) if side == "secrets" else check_keep(k, v, r, variants)
                if err:
                    errors.append(f"{rid}: {k} {v!r}: {err}")
                values[k][lang] += 1
            for k in {i["kind"] for i in r[side]}:
                rowsk[k][lang] += 1
        for s1, e1, v1 in keep_spans:
            for s2, e2, v2 in sec_spans:
                if s1 < e2 and s2 < e1:
                    errors.append(f"{rid}: keep {v1!r} overlaps secret {v2!r}")
        cov = set()
        for s, e in covered:
            cov.update(range(s, e))
        for m in LONG_TOKEN.finditer(text):
            run = 0
            for i in range(m.start(), m.end()):
                run = 0 if i in cov else run + 1
                if run >= 12:
                    errors.append(f"{rid}: long token {m.group()!r} is in no value")
                    break
        hs, hk = bool(r["secrets"]), bool(r["keep"])
        rowstat["rows"][lang] += 1
        rowstat["with a secret"][lang] += hs
        rowstat["with a keep"][lang] += hk
        rowstat["with both"][lang] += hs and hk
        rowstat["with neither"][lang] += (not hs and not hk)
    for lang in LANGS:
        if rowstat["rows"][lang] < ROWS_PER_LANG_MIN:
            errors.append(f"{lang}: only {rowstat['rows'][lang]} rows (< {ROWS_PER_LANG_MIN})")
    for k, mn in MINIMUMS.items():
        tot = sum(values[k].values())
        if tot < mn:
            errors.append(f"{k}: {tot} values < required {mn}")
        for lang in LANGS:
            if k == "resident_number" and lang != "ko":
                continue
            if values[k][lang] == 0:
                errors.append(f"{k}: no value in {lang}")

    md = "--markdown" in sys.argv
    def table(title, data, kinds, side=None):
        out = [f"\n{title}\n"]
        hdr = "| kind | side | ko | en | zh | ja | total |" if side else "| | ko | en | zh | ja | total |"
        out.append(hdr)
        out.append("|" + "---|" * (hdr.count("|") - 1))
        for k in kinds:
            c = data[k]
            cells = [str(c[l]) for l in LANGS] + [str(sum(c[l] for l in LANGS))]
            if side:
                out.append(f"| `{k}` | {side(k)} | " + " | ".join(cells) + " |")
            else:
                out.append(f"| {k} | " + " | ".join(cells) + " |")
        return "\n".join(out)
    side = lambda k: "secret" if k in SECRET_KINDS else "keep"
    print(f"file: {os.path.normpath(path)}")
    print(f"rows: {len(rows)}")
    print(table("Rows:", rowstat, ["rows", "with a secret", "with a keep", "with both", "with neither"]))
    print(table("Values (one count per listed value):", values, SECRET_KINDS + KEEP_KINDS, side))
    print(table("Rows containing the kind:", rowsk, SECRET_KINDS + KEEP_KINDS, side))
    print("\nVariants:")
    for k in sorted(variants):
        print(f"  {k}: {variants[k]}")
    print("\nMinimums required by the brief:")
    for k, mn in MINIMUMS.items():
        tot = sum(values[k].values())
        print(f"  {k}: {tot} (min {mn}) {'ok' if tot >= mn else 'SHORT'}")
    print("\nErrors:")
    for e in errors:
        print("  " + e)
    print(f"\n{len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
