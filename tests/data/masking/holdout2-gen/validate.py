"""Validator for holdout2.jsonl (independent of the masker).
Checks: valid JSON, fields, unique ids, NFC, every value an exact substring of its text,
keep values never overlap secret values, and per-kind shapes (lengths, alphabets, Luhn,
base58check, bech32, BIP-39 words + checksum, resident number check digit).
Prints errors and a count table."""
import json, re, sys, hashlib, unicodedata, collections, os
import base58
from mnemonic import Mnemonic

PATH = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "holdout2.jsonl")
SECRET = ["password", "otp", "pin", "seed_phrase", "private_key_hex", "private_key_base58", "wif_key",
          "card_number", "resident_number", "api_secret"]
KEEP = ["ticket_id", "order_id", "txid", "address", "amount", "date", "time", "phone_last4", "uid"]
LANGS = ["ko", "en", "zh", "ja"]
FW = str.maketrans("０１２３４５６７８９－", "0123456789-")
B58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
HEX = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
WORDLISTS = {}
for lang in ["english", "korean", "japanese", "chinese_simplified", "chinese_traditional"]:
    m = Mnemonic(lang)
    WORDLISTS[lang] = [unicodedata.normalize("NFC", w) for w in m.wordlist]

def luhn(d):
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch)
        if i % 2 == 1:
            x *= 2
            if x > 9: x -= 9
        s += x
    return s % 10 == 0

def b58check_ok(s, alphabet=base58.BITCOIN_ALPHABET):
    try:
        raw = base58.b58decode(s, alphabet=alphabet)
    except Exception:
        return None
    if len(raw) < 5: return None
    p, c = raw[:-4], raw[-4:]
    return p if hashlib.sha256(hashlib.sha256(p).digest()).digest()[:4] == c else None

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def bech32_ok(a):
    a = a.lower()
    if not a.startswith("bc1"): return False
    data = [CHARSET.find(c) for c in a[3:]]
    if -1 in data or len(data) < 7: return False
    GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in [ord(x) >> 5 for x in "bc"] + [0] + [ord(x) & 31 for x in "bc"] + data:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= GEN[i] if ((b >> i) & 1) else 0
    return chk == 1

def digits(v):
    return re.sub(r"[\s\-]", "", v.translate(FW))

def seed_ok(v):
    s = v.replace("\u3000", " ")
    s = re.sub(r"(^|\s)\d{1,2}\.\s?", " ", s)          # 1.word / 1. word numbering
    words = [w for w in re.split(r"[\s,，、]+", s) if w]
    if len(words) not in (12, 24):
        return f"{len(words)} words"
    for lang, wl in WORDLISTS.items():
        if all(w in wl for w in words):
            idx = [wl.index(w) for w in words]
            bits = "".join(f"{i:011b}" for i in idx)
            ent_bits = len(bits) * 32 // 33
            ent = int(bits[:ent_bits], 2).to_bytes(ent_bits // 8, "big")
            h = hashlib.sha256(ent).digest()
            cs = f"{int.from_bytes(h, 'big'):0256b}"[: len(bits) - ent_bits]
            return None if cs == bits[ent_bits:] else f"bad checksum ({lang})"
    return "words not all in one BIP-39 list"

def rrn_ok(v):
    if not re.fullmatch(r"\d{6}-\d{7}", v): return False
    d = v.replace("-", "")
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    c = (11 - sum(int(a) * b for a, b in zip(d, w)) % 11) % 10
    return c == int(d[12]) and 1 <= int(d[2:4]) <= 12 and 1 <= int(d[4:6]) <= 31 and d[6] in "1234"

def shape(kind, v):
    """returns error string or None"""
    if v != v.strip(): return "leading/trailing whitespace"
    if kind == "password":
        return None if 4 <= len(v) <= 64 else "length"
    if kind == "otp":
        d = digits(v)
        return None if d.isdigit() and d.isascii() and len(d) in (4, 6, 8) and re.fullmatch(r"[0-9０-９]+([ \-－][0-9０-９]+)*", v) else "otp shape"
    if kind == "pin":
        d = digits(v)
        return None if d.isascii() and d.isdigit() and len(d) in (4, 6) else "pin shape"
    if kind == "seed_phrase":
        return seed_ok(v)
    if kind == "private_key_hex":
        return None if HEX.match(v) else "hex shape"
    if kind == "private_key_base58":
        if len(v) not in (87, 88) or not set(v) <= B58: return "base58 shape"
        return None if len(base58.b58decode(v)) == 64 else "not 64 bytes"
    if kind == "wif_key":
        p = b58check_ok(v)
        if p is None: return "bad base58check"
        if v[0] == "5" and len(v) == 51 and len(p) == 33 and p[0] == 0x80: return None
        if v[0] in "KL" and len(v) == 52 and len(p) == 34 and p[0] == 0x80 and p[-1] == 1: return None
        return "wif shape"
    if kind == "card_number":
        d = digits(v)
        return None if len(d) == 16 and d.isdigit() and luhn(d) and re.fullmatch(r"\d{16}|\d{4}( \d{4}){3}|\d{4}(-\d{4}){3}", v) else "card shape/luhn"
    if kind == "resident_number":
        return None if rrn_ok(v) else "resident number"
    if kind == "api_secret":
        return None if re.fullmatch(r"[A-Za-z0-9]{32,64}", v) else "api shape"
    if kind == "txid":
        if HEX.match(v): return None
        if len(v) in (87, 88) and set(v) <= B58 and len(base58.b58decode(v)) == 64: return None
        return "txid shape"
    if kind == "address":
        if re.fullmatch(r"0x[0-9a-fA-F]{40}", v): return None
        if v.startswith("T") and len(v) == 34:
            p = b58check_ok(v); return None if p and len(p) == 21 and p[0] == 0x41 else "tron checksum"
        if v.startswith("bc1"): return None if bech32_ok(v) else "bech32"
        if v.startswith("r") and 25 <= len(v) <= 35:
            p = b58check_ok(v, base58.RIPPLE_ALPHABET); return None if p and len(p) == 21 and p[0] == 0 else "xrp checksum"
        if re.fullmatch(r"\d{1,10}", v): return None if int(v) < 2**32 else "tag too big"  # XRP destination tag
        if 32 <= len(v) <= 44 and set(v) <= B58 and len(base58.b58decode(v)) == 32: return None  # SOL
        return "address shape"
    if kind == "uid":
        d = digits(v); return None if d.isdigit() and 8 <= len(d) <= 10 else "uid shape"
    if kind == "phone_last4":
        d = digits(v); return None if d.isdigit() and len(d) == 4 else "phone shape"
    if kind in ("ticket_id", "order_id"):
        return None if re.search(r"[0-9０-９]", v) else "id without digit"
    if kind in ("amount", "date", "time"):
        return None if re.search(r"[0-9０-９一二三四五六七八九十两]", v) else f"{kind} without number"
    return "unknown kind"

def spans(text, v):
    out, i = [], text.find(v)
    while i >= 0:
        out.append((i, i + len(v))); i = text.find(v, i + 1)
    return out

def main():
    errors, warnings = [], []
    rows, ids = [], set()
    with open(PATH, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except Exception as e:
                errors.append(f"line {n}: invalid JSON: {e}"); continue
            rows.append(r)
            rid = r.get("id")
            if set(r) != {"id", "lang", "text", "secrets", "keep"}: errors.append(f"{rid}: fields {sorted(r)}")
            if rid in ids: errors.append(f"{rid}: duplicate id")
            ids.add(rid)
            if r.get("lang") not in LANGS or not re.fullmatch(rf"g-{r.get('lang')}-\d{{3}}", rid or ""):
                errors.append(f"{rid}: bad id/lang")
            t = r["text"]
            if unicodedata.normalize("NFC", t) != t: errors.append(f"{rid}: text not NFC")
            sec_spans = []
            for e in r["secrets"]:
                k, v = e["kind"], e["value"]
                if k not in SECRET: errors.append(f"{rid}: secret kind {k}")
                if k == "resident_number" and r["lang"] != "ko": errors.append(f"{rid}: resident_number outside ko")
                if v not in t: errors.append(f"{rid}: secret {k} {v!r} not in text"); continue
                err = shape(k, v)
                if err: errors.append(f"{rid}: secret {k} {v!r}: {err}")
                sec_spans += spans(t, v)
            for e in r["keep"]:
                k, v = e["kind"], e["value"]
                if k not in KEEP: errors.append(f"{rid}: keep kind {k}")
                if v not in t: errors.append(f"{rid}: keep {k} {v!r} not in text"); continue
                err = shape(k, v)
                if err: errors.append(f"{rid}: keep {k} {v!r}: {err}")
                for a, b in spans(t, v):
                    for c, d in sec_spans:
                        if a < d and c < b:
                            errors.append(f"{rid}: keep {k} {v!r} overlaps a secret"); break
                for s in r["secrets"]:
                    if v in s["value"] or s["value"] in v:
                        errors.append(f"{rid}: keep {v!r} and secret {s['value']!r} contain one another")
            # a short secret that also appears glued inside a longer digit run elsewhere would be ambiguous
            for s in r["secrets"]:
                if len(spans(t, s["value"])) > 1:
                    warnings.append(f"{rid}: secret {s['value']!r} occurs more than once")
    # global uniqueness of long values
    seen = collections.defaultdict(list)
    for r in rows:
        for e in r["secrets"] + r["keep"]:
            if len(e["value"]) >= 30: seen[e["value"]].append(r["id"])
    for v, where in seen.items():
        if len(set(where)) > 1: errors.append(f"long value reused in {where}")

    # counts
    rowc = collections.Counter(); valc = collections.Counter(); kindrows = collections.Counter()
    for r in rows:
        L = r["lang"]; rowc[("rows", L)] += 1
        hs, hk = bool(r["secrets"]), bool(r["keep"])
        rowc[("with a secret", L)] += hs; rowc[("with a keep", L)] += hk
        rowc[("with both", L)] += hs and hk; rowc[("with neither", L)] += not hs and not hk
        for e in r["secrets"] + r["keep"]:
            valc[(e["kind"], L)] += 1
        for k in {e["kind"] for e in r["secrets"] + r["keep"]}:
            kindrows[(k, L)] += 1
    print(f"file: {os.path.abspath(PATH)}")
    print(f"rows: {len(rows)}")
    print("\n| | ko | en | zh | ja | total |\n|---|---|---|---|---|---|")
    for lab in ["rows", "with a secret", "with a keep", "with both", "with neither"]:
        c = [rowc[(lab, L)] for L in LANGS]; print(f"| {lab} | " + " | ".join(map(str, c)) + f" | {sum(c)} |")
    print("\n| kind | side | ko | en | zh | ja | total values | rows with kind |\n|---|---|---|---|---|---|---|---|")
    for k in SECRET + KEEP:
        c = [valc[(k, L)] for L in LANGS]
        rr = sum(kindrows[(k, L)] for L in LANGS)
        print(f"| `{k}` | {'secret' if k in SECRET else 'keep'} | " + " | ".join(map(str, c)) + f" | {sum(c)} | {rr} |")
    print(f"\nwarnings: {len(warnings)}")
    for w in warnings: print("  WARN", w)
    print(f"errors: {len(errors)}")
    for e in errors: print("  ERROR", e)
    return 1 if errors else 0

if __name__ == "__main__":
    sys.exit(main())
