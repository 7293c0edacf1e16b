"""The Infraction Procedure Guide parser: our IPG-format fixture in the forms a
user's copy of the published PDF comes in, and the real guide when
MTG_IPG_PATH points to it."""

import os
import re

import pytest

from agents.domains.mtg.ipg import PENALTIES, load_ipg, parse_ipg
from forge.errors import InputError
from tests.conftest import REPO, run_cli

FIXTURE = REPO / "data" / "mtg" / "ipg_fixture.txt"
HEADING = re.compile(r"^(\d\.\d+\. .+?) (No Penalty|Warning|Game Loss|Match Loss|Disqualification)$", re.M)


def test_the_fixture_parses_into_sections_penalties_and_parts():
    guide = load_ipg(FIXTURE)
    assert guide.effective_date == "March 3, 2026"
    assert list(guide.sections)[:4] == ["1", "1.1", "1.2", "2"] and len(guide.sections) == 21
    assert [s.number for s in guide.infractions] == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2", "3.3",
                                                     "3.4", "3.5", "4.1", "4.2", "4.7", "4.8"]
    hidden = guide.section("2.3")
    assert (hidden.title, hidden.name, hidden.penalty) == ("Game Play Error — Hidden Card Error", "Hidden Card Error",
                                                           "Warning")
    assert [name for name, _ in hidden.parts] == ["Definition", "Philosophy", "Additional Remedy", "Upgrade"]
    assert hidden.part("Upgrade").endswith("upgraded to a Game Loss.") and len(hidden.examples) == 2
    assert guide.section("2.1").penalty == "No Penalty" and guide.section("3.1").penalty == "Game Loss"
    assert guide.section("1.1").penalty is None and guide.section("1.1").part("Text").startswith("A Warning is")
    assert guide.section("9.9") is None and "Quick Reference" not in guide.section("4.8").full_text


def _forms(text: str) -> dict[str, str]:
    return {
        "BOM and CRLF": "\ufeff" + text.replace("\n", "\r\n"),
        "CR": text.replace("\n", "\r"),
        "pdftotext -layout": HEADING.sub(lambda m: "    " + m.group(1) + " " * 30 + m.group(2), text)
                             .replace("\n\n2\n\n", "\n\f2\n"),
        "penalty on its own line": HEADING.sub(r"\1\n\2", text),
        "contents without dot leaders": re.sub(r" \.{5,} (\d+)$", r" \1", text, flags=re.M),
    }


@pytest.mark.parametrize("form", list(_forms("")))
def test_every_form_of_the_text_parses_the_same(form):
    text = FIXTURE.read_text(encoding="utf-8")
    expected, parsed = parse_ipg(text), parse_ipg(_forms(text)[form])
    assert parsed.sections == expected.sections and parsed.effective_date == expected.effective_date


def test_numbered_lists_in_the_prose_are_not_sections():
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "Philosophy\nThe rules expect players", "Philosophy\n1. Remember your triggers.\nThe rules expect players")
    guide = parse_ipg(text)
    assert "1. Remember your triggers." in guide.section("2.1").part("Philosophy") and len(guide.sections) == 21


@pytest.mark.parametrize("text, cited", [
    ("This is a Hidden Card Error (IPG 2.3).", ["2.3"]),
    ("See IPG 2.5 and 2.6.", ["2.5", "2.6"]),
    ("IPG section 3.1, 3.2, or 3.3", ["3.1", "3.2", "3.3"]),
    ("the Infraction Procedure Guide, section 4.8", ["4.8"]),
    ("IPG 4 covers unsporting conduct", ["4"]),
    ("CR 704.5f and 2.1 of something else", []),
])
def test_citations_are_extracted_from_free_text(text, cited):
    assert load_ipg(FIXTURE).citations(text) == cited


def test_bad_documents_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read the Infraction Procedure Guide.*pdftotext"):
        load_ipg(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="not the Infraction Procedure Guide.*no infraction headings"):
        load_ipg(REPO / "data" / "mtg" / "rules_fixture.txt")


def test_mtg_ipg_command_prints_a_section():
    result = run_cli("mtg", "ipg", "3.1", "--ipg", str(FIXTURE))
    assert result.returncode == 0, result.stderr
    assert "3.1 Tournament Error — Tardiness — penalty: Game Loss" in result.stdout
    assert "A. A player arrives at their table" in result.stdout and "Upgrade: A player who has not" in result.stdout
    missing = run_cli("mtg", "ipg", "9.9", "--ipg", str(FIXTURE))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "2.1, 2.2" in missing.stderr
    if not os.environ.get("MTG_IPG_PATH"):
        unset = run_cli("mtg", "ipg", "2.1")
        assert unset.returncode == 2 and "--ipg PATH" in unset.stderr


@pytest.mark.skipif(not os.environ.get("MTG_IPG_PATH"), reason="MTG_IPG_PATH is not set (no copy of the published "
                                                               "Infraction Procedure Guide beside the repository)")
def test_the_real_infraction_procedure_guide():
    guide = load_ipg(os.environ["MTG_IPG_PATH"])
    assert guide.effective_date != "undated" and len(guide.infractions) >= 20
    assert all(s.penalty in PENALTIES and s.part("Definition") for s in guide.infractions)
    assert guide.section("2.1").name == "Missed Trigger" and guide.section("4.8").penalty == "Disqualification"
