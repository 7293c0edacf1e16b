"""The Comprehensive Rules parser: our CR-format fixture in every line-ending
form Wizards publishes, and the real document when MTG_CR_PATH points to it."""

import os

import pytest

from agents.domains.mtg.rules import load_rules, parse_rules
from forge.errors import InputError
from tests.conftest import REPO, run_cli

FIXTURE = REPO / "data" / "mtg" / "rules_fixture.txt"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [True, False])
def test_the_fixture_parses_the_same_in_every_published_form(tmp_path, newline, bom):
    text = FIXTURE.read_text(encoding="utf-8-sig")
    path = tmp_path / "cr.txt"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.replace("\n", newline).encode())
    cr = load_rules(path)
    assert cr.effective_date == "January 2, 2026"
    numbers = [r.number for r in cr.numbered]
    assert numbers[:6] == ["100.1", "100.1a", "100.1b", "405.5", "510.1", "510.1a"] and len(numbers) == 30
    assert numbers[-4:] == ["704.5a", "704.5f", "704.5g", "704.5j"]
    assert [n for n in cr.rules if "." not in n] == ["1", "100", "4", "405", "5", "510", "6", "608", "701", "7", "702", "704"]
    assert cr.rule("510.1a").examples == ("Example: A 3/3 attacker blocked by a 2/2 assigns all 3 damage to that blocker.",)
    assert cr.term("TRAMPLE")[1].startswith("A keyword ability that lets")
    assert set(cr.glossary) == {"deathtouch", "trample"}


def test_parents_children_and_lookups():
    cr = load_rules(FIXTURE)
    assert cr.parent("704.5f") == "704.5" and cr.parent("704.5") == "704" and cr.parent("704") == "7"
    assert cr.children("702.19") == ["702.19a", "702.19b", "702.19c", "702.19d"]
    assert cr.children("704") == ["704.5"]
    assert cr.rule("704.5f").text.startswith("A creature with toughness 0 or less")
    assert cr.rule("704.5z") is None


@pytest.mark.parametrize("text, cited", [
    ("Under CR 704.5f it dies.", ["704.5f"]),
    ("see rule 608.2", ["608.2"]),
    ("704.5f-g apply", ["704.5f", "704.5g"]),
    ("702.19b and 702.19c", ["702.19b", "702.19c"]),
    ("rules 704.5a, 704.5b, and 704.5c", ["704.5a", "704.5b", "704.5c"]),
    ("702.19b-702.19d", ["702.19b", "702.19c", "702.19d"]),
    ("CR 510.1c–d", ["510.1c", "510.1d"]),
    ("a 100 card deck and 20 life", []),
    ("rule 100 says", ["100"]),
])
def test_citations_are_extracted_from_free_text(text, cited):
    assert load_rules(FIXTURE).citations(text) == cited


def test_bad_documents_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read the Comprehensive Rules"):
        load_rules(tmp_path / "missing.txt")
    (tmp_path / "notes.txt").write_text("just some notes\n")
    with pytest.raises(InputError, match="not the Comprehensive Rules"):
        load_rules(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="after the contents"):
        parse_rules("These rules are effective as of May 1, 2026.\n1. Game Concepts\n")


def test_mtg_rule_command_prints_a_rule():
    result = run_cli("mtg", "rule", "702.19", "--rules", str(FIXTURE))
    assert result.returncode == 0 and "702.19b Damage beyond lethal damage" in result.stdout
    missing = run_cli("mtg", "rule", "999.9", "--rules", str(FIXTURE))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


@pytest.mark.skipif(not os.environ.get("MTG_CR_PATH"), reason="MTG_CR_PATH is not set (CI sets it when the real "
                                                              "Comprehensive Rules are beside the repository)")
def test_the_real_comprehensive_rules():
    cr = load_rules(os.environ["MTG_CR_PATH"])
    assert 3100 <= len(cr.numbered) < 3400
    assert len(cr.glossary) > 500 and cr.term("deathtouch")
    assert cr.rule("704.5f").text.startswith("If a creature has toughness 0 or less")
    assert "704.5f" in cr.children("704.5") and cr.parent("702.19b") == "702.19"
    assert cr.effective_date and all(cr.rule(n) for n in cr.citations("See rules 702.19b-d and CR 704.5f."))
    result = run_cli("mtg", "rule", "704.5f", "--rules", os.environ["MTG_CR_PATH"])
    assert result.returncode == 0 and "toughness 0 or less" in result.stdout and cr.effective_date in result.stdout
