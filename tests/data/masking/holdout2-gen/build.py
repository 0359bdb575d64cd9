"""Builds holdout.jsonl from the hand-written rows in rows_*.py.
Placeholders {{name}} / {{name:fmt}} stand for long random values pasted from gen_values.Pool."""
import json, re, sys, unicodedata, importlib, collections
from gen_values import Pool

ALIAS = {"pw": "password", "otp": "otp", "pin": "pin", "seed": "seed_phrase", "hex": "private_key_hex",
         "b58": "private_key_base58", "wif": "wif_key", "card": "card_number", "rrn": "resident_number",
         "api": "api_secret",
         "tk": "ticket_id", "ord": "order_id", "tx": "txid", "addr": "address", "amt": "amount",
         "date": "date", "time": "time", "ph": "phone_last4", "uid": "uid"}
SECRET = {"password", "otp", "pin", "seed_phrase", "private_key_hex", "private_key_base58", "wif_key",
          "card_number", "resident_number", "api_secret"}
PH = re.compile(r"\{\{(\w+)(?::(\w+))?\}\}")

def main():
    pool = Pool()
    sub = lambda s: PH.sub(lambda m: pool.get(m.group(1), m.group(2) or ""), s)
    out = []
    for lang in ["ko", "en", "zh", "ja"]:
        mod = importlib.import_module(f"rows_{lang}")
        for i, (text, s, k) in enumerate(mod.ROWS, 1):
            row = {"id": f"g-{lang}-{i:03d}", "lang": lang,
                   "text": unicodedata.normalize("NFC", sub(text)),
                   "secrets": [{"kind": ALIAS[a], "value": unicodedata.normalize("NFC", sub(v))} for a, v in s],
                   "keep": [{"kind": ALIAS[a], "value": unicodedata.normalize("NFC", sub(v))} for a, v in k]}
            for e in row["secrets"]: assert e["kind"] in SECRET, (row["id"], e)
            for e in row["keep"]: assert e["kind"] not in SECRET, (row["id"], e)
            out.append(row)
    with open("../holdout2.jsonl", "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(len(out), "rows written")

if __name__ == "__main__":
    main()
