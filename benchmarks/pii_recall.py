"""How much personal data the scrubber finds, on snippets written by hand.

`benchmarks/data/pii_snippets.jsonl` holds short texts in several locales,
each with the personal data it contains (kind and exact text), and lines
with none (code, numbers, dates, version strings, product names). A piece
of data counts as found when one span of its kind covers it; a PII-free line
counts as a false positive when anything is found in it.

Printed: recall per kind, the false-positive rate on PII-free lines, and the
same for baselines on the same input: our scrubber as it was configured
before (phones in one region, US), and Microsoft Presidio's pattern
recognizers where `presidio-analyzer` is installed (it is not a dependency).

    .venv/bin/python benchmarks/pii_recall.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.pii import KINDS, find  # noqa: E402

SNIPPETS = Path(__file__).with_name("data") / "pii_snippets.jsonl"
PRESIDIO_KINDS = {"EMAIL_ADDRESS": "email", "IBAN_CODE": "iban", "CREDIT_CARD": "card", "IP_ADDRESS": "ip_address",
                  "PHONE_NUMBER": "phone"}


def ours(regions=None):
    return lambda text: [(f.kind, f.start, f.end) for f in (find(text, regions) if regions else find(text))]


def presidio():
    """Presidio's pattern recognizers, called directly (its AnalyzerEngine needs a spaCy model)."""
    try:
        from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, IbanRecognizer,
                                                              IpRecognizer, PhoneRecognizer)
    except ImportError:
        return None
    from evaluators.pii import PHONE_REGIONS

    recognizers = [EmailRecognizer(), IbanRecognizer(), CreditCardRecognizer(), IpRecognizer(),
                   PhoneRecognizer(supported_regions=PHONE_REGIONS)]

    def detect(text):
        return [(PRESIDIO_KINDS[r.entity_type], r.start, r.end) for recognizer in recognizers
                for r in recognizer.analyze(text, recognizer.supported_entities, None) if r.score >= 0.4]
    return detect


def measure(detect, rows) -> dict:
    expected, hit, clean, false_positive = Counter(), Counter(), 0, 0
    started = time.perf_counter()
    for row in rows:
        found = detect(row["text"])
        if not row["expect"]:
            clean += 1
            false_positive += bool(found)
        for kind, value in row["expect"]:
            start = row["text"].index(value)
            expected[kind] += 1
            hit[kind] += any(k == kind and a <= start and b >= start + len(value) for k, a, b in found)
    return {"recall": {k: hit[k] / expected[k] for k in expected}, "expected": expected,
            "false_positive_rate": false_positive / clean, "clean": clean,
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snippets", type=Path, default=SNIPPETS)
    parser.add_argument("--show-misses", action="store_true", help="Print every miss and false positive of ours.")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.snippets.read_text(encoding="utf-8").splitlines() if line.strip()]
    contenders = {"ours": ours(), "ours, one phone region (US)": ours(("US",))}
    if (baseline := presidio()) is not None:
        contenders["presidio patterns"] = baseline
    results = {name: measure(detect, rows) for name, detect in contenders.items()}
    print(f"{len(rows)} snippets, {results['ours']['clean']} without personal data "
          f"({', '.join(f'{k} {n}' for k, n in results['ours']['expected'].items())})")
    names = list(results)
    print(f"{'kind':<16}" + "".join(f"{n:>34}" for n in names))
    for kind in [k for k in KINDS if k in results["ours"]["expected"]]:
        print(f"{kind:<16}" + "".join(f"{results[n]['recall'].get(kind, float('nan')):>34.2f}" for n in names))
    print(f"{'false positives':<16}" + "".join(f"{results[n]['false_positive_rate']:>34.3f}" for n in names))
    print(f"{'seconds':<16}" + "".join(f"{results[n]['seconds']:>34.3f}" for n in names))
    for name in names[1:]:
        print(f"time ours / {name}: {results['ours']['seconds'] / results[name]['seconds']:.2f}")
    if args.show_misses:
        detect = contenders["ours"]
        for row in rows:
            found = detect(row["text"])
            missed = [v for k, v in row["expect"] if not any(
                kk == k and a <= row["text"].index(v) and b >= row["text"].index(v) + len(v) for kk, a, b in found)]
            if missed or (not row["expect"] and found):
                print(f"  {row['text']!r}: missed {missed}, found {[(k, row['text'][a:b]) for k, a, b in found]}")


if __name__ == "__main__":
    main()
