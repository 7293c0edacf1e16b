"""What every domain shares, named by none: curation (`curation.py`: validation,
dedup, decontamination, the English mix, splits), the harness that scores a
student (`harness.py`), checks that run code in the sandbox (`execution.py`),
mutations (`mutation.py`), personal-data scrubbing (`pii.py`), and one word
tokenizer with one stop-word list (`text.py`). A domain's own checks live in
its package, `agents/domains/<name>/verify.py`.
"""
