"""Domain verifiers, dataset validation and the student evaluation harness.

A domain's verifier is `evaluators/<domain>.py`, beside its readers. What every
domain shares stays here unnamed by any domain: curation (`curation.py`), the
harness that scores a student (`harness.py`), personal-data scrubbing (`pii.py`),
mutations (`mutation.py`), and one word tokenizer with one stop-word list (`text.py`).
"""
