"""The MTG judge domain's own commands: look up the Comprehensive Rules and the
Infraction Procedure Guide. The registry adds them as `loop.py mtg ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from agents.domains.mtg import ENTRY
from forge.cli import console, fail, input_errors

RULES, IPG = ENTRY.sources

app = typer.Typer(help="Magic: The Gathering: look up the Comprehensive Rules and the Infraction Procedure Guide.",
                  no_args_is_help=True)


@app.command("rule")
def rule(
    number: Annotated[str, typer.Argument(help="A rule number such as 704.5f, 704.5 or 704.")],
    rules: Annotated[Optional[Path], typer.Option(help=RULES.help, show_default=False)] = None,
) -> None:
    """Print a rule, its parent, and its subrules."""
    from agents.domains.mtg.rules import load_rules

    path = RULES.resolve(str(rules) if rules else None)
    with input_errors():
        cr = load_rules(path)
    found = cr.rule(number)
    if found is None:
        raise fail(f"rule {number} does not exist in the Comprehensive Rules effective {cr.effective_date} ({path})")
    console.print(f"[bold]{found.number}[/] {escape(found.text)}", highlight=False)
    for example in found.examples:
        console.print(f"  {escape(example)}", highlight=False)
    parent = cr.parent(found.number)
    if parent and cr.rule(parent):
        console.print(f"part of {parent}: {escape(cr.rule(parent).text)}", highlight=False)
    for child in cr.children(found.number):
        console.print(f"  {child} {escape(cr.rule(child).text)}", highlight=False)
    console.print(f"(Comprehensive Rules effective {cr.effective_date}: {len(cr.numbered)} numbered rules, "
                  f"{len(cr.glossary)} glossary terms)")


@app.command("ipg")
def ipg(
    number: Annotated[str, typer.Argument(help="A section number such as 2.1 (an infraction) or 2 (a class).")],
    ipg: Annotated[Optional[Path], typer.Option(help=IPG.help, show_default=False)] = None,
) -> None:
    """Print a section of the Infraction Procedure Guide: its penalty, definition, examples and remedies."""
    from agents.domains.mtg.ipg import load_ipg

    path = IPG.resolve(str(ipg) if ipg else None)
    if path is None:
        raise fail("no Infraction Procedure Guide given: pass --ipg PATH (the guide's PDF saved as text, "
                   "e.g. pdftotext IPG.pdf ipg.txt) or set MTG_IPG_PATH")
    with input_errors():
        guide = load_ipg(path)
    section = guide.section(number)
    if section is None:
        raise fail(f"section {number} does not exist in the Infraction Procedure Guide effective "
                   f"{guide.effective_date} ({path}); its infractions are "
                   f"{', '.join(s.number for s in guide.infractions)}")
    console.print(f"[bold]{section.number}[/] {escape(section.title)}" +
                  (f" — penalty: [bold]{section.penalty}[/]" if section.penalty else ""), highlight=False)
    examples = [f"  {letter}. {escape(text)}" for letter, text in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", section.examples)]
    for heading, text in section.parts:  # the guide's order: Definition, Examples, Philosophy, ...
        console.print(f"{heading}: {escape(text)}" if heading != "Text" else escape(text), highlight=False)
        if heading == "Definition" and examples:
            console.print("Examples:\n" + "\n".join(examples), highlight=False)
    console.print(f"(Infraction Procedure Guide effective {guide.effective_date}: {len(guide.sections)} sections, "
                  f"{len(guide.infractions)} infractions)")
