"""MTG: judge rulings grounded in the Comprehensive Rules (rules.py) and, when
given, the Infraction Procedure Guide (ipg.py).

generate.py drafts rulings; verify.py checks the rules they cite and decides
combat, stack and state-based scenarios with a small rules model; cli.py adds
`loop.py mtg ...`.
"""

from agents.domains.base import DATA, DomainEntry, Source

ENTRY = DomainEntry(
    "Magic: The Gathering judge rulings, checked against the Comprehensive Rules they cite",
    (Source("rules", "the Comprehensive Rules plain text, as Wizards publishes it (default: $MTG_CR_PATH, else "
                     "our small fixture)", env="MTG_CR_PATH", default=str(DATA / "mtg" / "rules_fixture.txt")),
     Source("ipg", "the Infraction Procedure Guide saved as text (pdftotext IPG.pdf ipg.txt; default: "
                   "$MTG_IPG_PATH); adds the tournament category", env="MTG_IPG_PATH")),
    open="agents.domains.mtg.generate:open_domain", commands="agents.domains.mtg.cli:app",
    example={"ipg": str(DATA / "mtg" / "ipg_fixture.txt")})
