"""Throwaway generator of long synthetic values (keys, hashes, signatures, addresses,
cards, WIF, mnemonics, resident numbers) for the hand-written holdout rows.
Every value is random and synthetic; none belongs to anyone.
Used by build.py: placeholders {{name}} / {{name:fmt}} in the hand-written rows are
replaced with a fresh value whose type is given by the name's prefix."""
import hashlib, random, string, unicodedata
import base58
from mnemonic import Mnemonic

RNG = random.Random(20241204_2)

def rbytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(n))

def b58check(payload, alphabet=base58.BITCOIN_ALPHABET):
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return base58.b58encode(payload + chk, alphabet=alphabet).decode()

# --- bech32 (BIP-173 reference) ---
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def bech32_polymod(values):
    GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= GEN[i] if ((b >> i) & 1) else 0
    return chk
def bech32_hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
def bech32_create_checksum(hrp, data):
    values = bech32_hrp_expand(hrp) + data
    polymod = bech32_polymod(values + [0] * 6) ^ 1
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
def convertbits(data, frombits, tobits, pad=True):
    acc = 0; bits = 0; ret = []; maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value; bits += frombits
        while bits >= tobits:
            bits -= tobits; ret.append((acc >> bits) & maxv)
    if pad and bits:
        ret.append((acc << (tobits - bits)) & maxv)
    return ret
def bech32_addr(prog_len=20):
    data = [0] + convertbits(rbytes(prog_len), 8, 5)
    return "bc1" + "".join(CHARSET[d] for d in data + bech32_create_checksum("bc", data))

def luhn_complete(prefix, length=16):
    body = prefix + "".join(str(RNG.randrange(10)) for _ in range(length - 1 - len(prefix)))
    s = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    return body + str((10 - s % 10) % 10)

def rrn():
    while True:
        y = RNG.randrange(60, 100 + 6)
        century2000 = y >= 100
        yy = y % 100
        m = RNG.randrange(1, 13); d = RNG.randrange(1, 29)
        g = RNG.choice([3, 4]) if century2000 else RNG.choice([1, 2])
        digits = f"{yy:02d}{m:02d}{d:02d}{g}" + "".join(str(RNG.randrange(10)) for _ in range(5))
        w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
        c = (11 - sum(int(a) * b for a, b in zip(digits, w)) % 11) % 10
        full = digits + str(c)
        return full[:6] + "-" + full[6:]

FW = str.maketrans("0123456789", "０１２３４５６７８９")

def b58_64():
    while True:
        v = base58.b58encode(rbytes(64)).decode()
        if len(v) in (87, 88):
            return v

SEED_LANG = {"seeden": "english", "seedko": "korean", "seedja": "japanese",
             "seedzhs": "chinese_simplified", "seedzht": "chinese_traditional"}
_M = {}
def mnemonic(lang, words):
    m = _M.setdefault(lang, Mnemonic(lang))
    ent = rbytes(16 if words == 12 else 32)
    phrase = m.to_mnemonic(ent)
    ws = unicodedata.normalize("NFC", phrase).replace("\u3000", " ").split(" ")
    assert len(ws) == words
    return ws

def fmt_seed(ws, fmt):
    if fmt == "n":   return " ".join(f"{i+1}.{w}" for i, w in enumerate(ws))
    if fmt == "np":  return " ".join(f"{i+1}. {w}" for i, w in enumerate(ws))
    if fmt == "c":   return ", ".join(ws)
    if fmt == "cc":  return ",".join(ws)
    if fmt == "nl":  return "\n".join(ws)
    if fmt == "is":  return "\u3000".join(ws)
    return " ".join(ws)

def make(name, fmt):
    """name prefix decides the type"""
    p = name.split("_")[0]
    if p == "hex":    # 64 hex (private key or tx hash)
        v = rbytes(32).hex()
        return v.upper() if fmt == "U" else v
    if p == "b58":    # 64 random bytes in base58: Phantom key or Solana signature shape
        return b58_64()
    if p == "wifu":   return b58check(b"\x80" + rbytes(32))
    if p == "wifc":   return b58check(b"\x80" + rbytes(32) + b"\x01")
    if p == "eth":    return "0x" + rbytes(20).hex()
    if p == "tron":   return b58check(b"\x41" + rbytes(20))
    if p == "btc":    return bech32_addr()
    if p == "sol":
        while True:
            v = base58.b58encode(rbytes(32)).decode()
            if len(v) in (43, 44): return v
    if p == "xrp":    return b58check(b"\x00" + rbytes(20), alphabet=base58.RIPPLE_ALPHABET)
    if p == "rrn":    return rrn()
    if p == "api":
        n = RNG.choice([32, 40, 48, 64])
        return "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(n))
    raise KeyError(name)

class Pool:
    def __init__(self):
        self.raw = {}
    def get(self, name, fmt=""):
        p = name.split("_")[0]
        key = name
        if key not in self.raw:
            if p.startswith("seed"):
                lang = SEED_LANG[p[:-2]]
                self.raw[key] = mnemonic(lang, int(p[-2:]))
            elif p in ("card", "luhn"):
                pre = RNG.choice(["4", "4", "5" + str(RNG.randrange(1, 6)), "62", "35", "9410"])
                self.raw[key] = luhn_complete(pre if p == "card" else RNG.choice(["2024", "1", "8", "3"]))
            else:
                self.raw[key] = make(name, "")
        v = self.raw[key]
        if p.startswith("seed"):
            return fmt_seed(v, fmt)
        if p in ("card", "luhn"):
            if fmt == "s":  return " ".join(v[i:i+4] for i in range(0, 16, 4))
            if fmt == "d":  return "-".join(v[i:i+4] for i in range(0, 16, 4))
            if fmt == "fw": return v.translate(FW)
            return v
        if fmt == "U": return v.upper()
        return v
