"""Open book against closed book on the same questions: a student (a preset's
base model or a trained student folder) answers a domain's held-out items
with their passages and without, and the domain's measures are printed side
by side, with their ratio.

    .venv/bin/python benchmarks/open_book.py --domain repo --repo ../shared/data/repos/uuid
    .venv/bin/python benchmarks/open_book.py --domain docs --docs ../shared/data/docs/httpx --student ws/runs/<run>/round_2/student

A source too small to hold anything out is asked the template teacher's own
items instead (the base model never trained on them; a trained student may
have).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from forge.native import ensure_static_tls_room


def items_of(domain, count: int) -> tuple[list, str]:
    """Held-out items that have a closed-book twin, or the template teacher's own items."""
    from agents.domains.base import Task

    items = domain.heldout_items()
    source = "held-out"
    if items is None:
        source = "template (nothing held out)"
        items = [domain.to_example(task, domain.template_draft(task, 0)) for task in
                 (Task(slot, domain.categories[slot % len(domain.categories)], f"open-book:{slot}")
                  for slot in range(4 * count))]
    # the questions the domain measures beyond right and wrong (for repo: the prose ones, not the sandboxed)
    measured = [i for i in items if domain.closed_book(i) is not None and domain.answer_measures(i, "")]
    return measured[:count], source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--docs")
    parser.add_argument("--repo")
    parser.add_argument("--student", default="smollm2_135m", help="A preset (its base model) or a trained student folder.")
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    args = parser.parse_args()
    ensure_static_tls_room()

    from agents.domains import domain_choice, load_domain
    from evaluators.harness import answer_with_transformers
    from trainer.presets import load_preset

    given = {k: v for k, v in (("docs", args.docs), ("repo", args.repo)) if v}
    domain = load_domain(*domain_choice(args.domain, given))
    model = args.student if Path(args.student).is_dir() else load_preset(args.student).model
    try:
        items, source = items_of(domain, args.items)
        twins = [domain.closed_book(i) for i in items]
        measured = {}
        for book, batch in (("open", items), ("closed", twins)):
            answers = answer_with_transformers(model, batch, max_new_tokens=args.max_new_tokens)
            sums = defaultdict(list)
            for item, answer in zip(batch, answers):
                sums["correct"].append(float(domain.score_answer(item, answer).passed))
                for name, value in domain.answer_measures(item, answer).items():
                    sums[name].append(value)
            measured[book] = {name: sum(v) / len(v) for name, v in sums.items()}
    finally:
        domain.close()
    print(f"{args.domain} {given}: {len(items)} {source} items, student {args.student}")
    for name in sorted(set(measured["open"]) | set(measured["closed"])):
        opened, closed = measured["open"].get(name), measured["closed"].get(name)
        ratio = f"{opened / closed:.2f}x" if opened is not None and closed else "-"
        print(f"  {name:22} open {'-' if opened is None else f'{opened:.2f}':>5}  closed "
              f"{'-' if closed is None else f'{closed:.2f}':>5}  open/closed {ratio}")


if __name__ == "__main__":
    main()
