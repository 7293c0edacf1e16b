"""The property tests' strategies, run for longer: random inputs per domain
until the time is up, then how many ran, how many were refused up front, and
every failure with the blob that replays it.

    .venv/bin/python benchmarks/fuzz_inputs.py --minutes 20
    .venv/bin/python benchmarks/fuzz_inputs.py --minutes 5 --domains config,chat

Each domain gets an equal share of the minutes, run in batches of 50 inputs
with a new seed per batch. A failure prints its seed and Hypothesis's
`@reproduce_failure` blob; add the blob to the test it names to replay it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = {
    "cypher": "tests/agents/domains/cypher/test_cypher_fuzz.py::test_any_small_graph_generates_or_is_refused_up_front",
    "docs": "tests/agents/domains/docs/test_docs_fuzz.py::test_any_small_docs_folder_generates_or_is_refused_up_front",
    "config": "tests/agents/domains/config/test_config_fuzz.py::test_any_valid_yaml_domain_generates_or_is_refused_up_front",
    "mtg": "tests/agents/domains/mtg/test_mtg_fuzz.py::test_any_rules_document_generates_or_is_refused_up_front",
    "chat": "tests/agents/domains/chat/test_chat_fuzz.py::"
            "test_any_conversation_export_imports_and_generates_or_is_refused_up_front",
    "repo": "tests/agents/domains/repo/test_repo_fuzz.py::test_any_small_repository_generates_or_is_refused_up_front",
    "coding": "tests/agents/domains/coding/test_coding_fuzz.py::"
              "test_any_small_python_repository_generates_or_is_refused_up_front",
}


def run(domain: str, seconds: float, seed: int, batch: int = 50) -> dict:
    """The domain's property test, `batch` inputs at a time with a new seed each time, until `seconds` are up."""
    started, ran, refused, rounds = time.time(), 0, 0.0, 0
    env = {**os.environ, "DOMAINFORGE_FUZZ_EXAMPLES": str(batch), "OMP_NUM_THREADS": "1"}
    while time.time() - started < seconds:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:logging",
                               "--hypothesis-show-statistics", f"--hypothesis-seed={seed + rounds}", TESTS[domain]],
                              cwd=REPO, env=env, capture_output=True, text=True)
        out = done.stdout + done.stderr
        passing = sum(int(n) for n in re.findall(r"(\d+) passing", out))
        share = re.search(r"([\d.]+)%, refused up front", out)
        ran, refused, rounds = ran + passing, refused + passing * (float(share.group(1)) / 100 if share else 0), rounds + 1
        if done.returncode != 0:
            failure = re.search(r"^E\s+(\w+Error.*)$", out, re.M)
            replay = re.search(r"@reproduce_failure\([^)]*\)", out)
            return {"domain": domain, "seconds": round(time.time() - started), "ran": ran, "failed":
                    failure.group(1)[:300] if failure else out[-300:], "seed": seed + rounds - 1,
                    "replay": replay.group(0) if replay else ""}
    return {"domain": domain, "seconds": round(time.time() - started), "ran": ran,
            "refused_up_front": round(refused / ran, 2) if ran else None, "failed": "nothing"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0, help="Total time, shared equally by the domains.")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="Hypothesis seed (printed, to rerun).")
    parser.add_argument("--domains", default=",".join(TESTS), help=f"Comma-separated, from {', '.join(TESTS)}.")
    args = parser.parse_args()
    domains = args.domains.split(",")
    if unknown := [d for d in domains if d not in TESTS]:
        parser.error(f"unknown domain(s) {', '.join(unknown)}: choose from {', '.join(TESTS)}")
    share = 60 * args.minutes / len(domains)
    print(f"seed {args.seed}; {share:.0f} s per domain")
    for domain in domains:
        result = run(domain, share, args.seed)
        print(" | ".join(f"{k} {v}" for k, v in result.items() if v not in ("", None)), flush=True)


if __name__ == "__main__":
    main()
