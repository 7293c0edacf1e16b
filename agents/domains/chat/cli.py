"""The chat domain's own commands. The registry adds them as `loop.py chat ...`."""

from __future__ import annotations

import hashlib
import json
import re
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from agents.domains.chat import TOKENIZER
from evaluators.pii import PHONE_REGIONS
from forge.cli import StoreOption, console, input_errors

app = typer.Typer(help="The chat domain: bring in the conversations you have, scrubbed of personal data and cleaned.",
                  no_args_is_help=True)


class ChatFormat(str, Enum):
    sharegpt = "sharegpt"
    openai = "openai"
    csv = "csv"


@app.command("import")
def import_conversations(
    file: Annotated[Path, typer.Argument(help="A file of conversations: ShareGPT JSON/JSONL, OpenAI messages JSONL, or a "
                                              "support-log CSV with one message per row.", show_default=False)],
    format: Annotated[ChatFormat, typer.Option(help="sharegpt: {conversations: [{from, value}]}; openai: {messages: "
                                                    "[{role, content}]}; csv: one message per row (see the column options).",
                                               show_default=False)],
    workspace: Annotated[Path, typer.Option(help="The workspace to import into: its store, and imports/NAME.jsonl.")] = Path("workspace"),
    language: Annotated[str, typer.Option(help="Keep conversations in this language (an ISO 639-1 code such as en); "
                                               "'any' keeps every language.")] = "en",
    phone_region: Annotated[Optional[list[str]], typer.Option(
        help="Also recognise phone numbers written the national way of this country (ISO 3166 code; repeatable). "
             f"Already recognised: {', '.join(PHONE_REGIONS)}; numbers with a +country code are found anywhere.",
        show_default=False)] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help=escape(TOKENIZER.help), show_default=False)] = None,
    conversation_column: Annotated[str, typer.Option(help="csv: the conversation id column.")] = "conversation_id",
    role_column: Annotated[str, typer.Option(help="csv: the speaker column (customer/user, agent/assistant, system).")] = "role",
    text_column: Annotated[str, typer.Option(help="csv: the message text column.")] = "text",
    timestamp_column: Annotated[str, typer.Option(help="csv: the time column (ISO 8601 or epoch seconds).")] = "timestamp",
    store: StoreOption = None,
) -> None:
    """Import conversations: read, scrub personal data, repair turns, keep one
    language, drop duplicates, and check each fits the student.

    Personal data (emails, phone numbers, card numbers, IP addresses, street
    addresses, introduced names) is replaced by typed placeholders before
    anything is written: the workspace never holds the unscrubbed text. Every
    readable conversation is stored, accepted or rejected with its reasons
    (`loop.py audit WORKSPACE`); the accepted ones are also written to
    WORKSPACE/imports/NAME.jsonl, which `generate` and `run` take as
    --conversations. Importing the same file again changes nothing.

    Examples:

    python loop.py chat import data/chat/sharegpt_sample.json --format sharegpt --workspace ws

    python loop.py chat import tickets.csv --format csv --role-column author --text-column body --workspace ws
    """
    from agents.cli import Bars
    from agents.domains.chat.verify import open_budget
    from agents.domains.chat.formats import CsvColumns, read_conversations
    from agents.domains.chat.imports import check_options, clean
    from evaluators.pii import scrub
    from forge.export import replace_atomically
    from forge.records import Lineage, Verdict, content_hash
    from forge.workspace import Workspace

    with input_errors():
        ws = Workspace.check(workspace, store)
        regions = tuple(dict.fromkeys([*PHONE_REGIONS, *(r.upper() for r in phone_region or [])]))
        check_options(language, list(regions))
        budget = open_budget(TOKENIZER.resolve(tokenizer))
        columns = CsvColumns(conversation_column, role_column, text_column, timestamp_column)
        read = read_conversations(file, format.value, columns)
    bars = Bars()
    cleaned, report = clean(read, source_format=format.value, budget=budget, language=language, regions=regions,
                            on_progress=lambda done, total: bars.update(f"cleaning {file.name}", total, done))
    bars.stop()

    settings = {"file": str(file.resolve()), "format": format.value, "language": language, "phone_regions": list(regions),
                "tokenizer": budget.name, "max_tokens": budget.max_tokens, "columns": vars(columns)}
    name = re.sub(r"[^\w.-]+", "-", file.stem)
    run_id = f"import-{name}-{content_hash({'settings': settings, 'sha256': hashlib.sha256(file.read_bytes()).hexdigest()}, 8)}"
    ws.create()
    store = ws.open_store()
    store.start_run(run_id, "chat", settings)
    done = store.finished_slots(run_id)
    for slot, item in enumerate(cleaned):
        if slot not in done:
            lineage = Lineage(run_id, 0, slot, teacher=f"import:{format.value}", critic="none", finished_at=time.time())
            lineage.event("import", 1, item.accepted, source=item.where)
            store.record(run_id, slot, item.example, Verdict(tuple(item.checks)), lineage)
    store.close()

    ws.imports.mkdir(parents=True, exist_ok=True)
    conversations, report_path = ws.imports / f"{name}.jsonl", ws.imports / f"{name}.report.json"
    for path, text in ((conversations, "".join(json.dumps(c.example.payload, ensure_ascii=False) + "\n"
                                               for c in cleaned if c.accepted)),
                       (report_path, json.dumps({"run_id": run_id, **settings, **report.to_dict(),
                                                 # a reason may quote the record (a speaker's name)
                                                 "unreadable_records": [{"where": b.where, "reason": scrub(b.reason).text}
                                                                        for b in read.bad]}, indent=2) + "\n")):
        replace_atomically(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))

    table = Table(title=f"import {file}", show_header=False, title_justify="left")
    table.add_row("records", str(report.records))
    table.add_row("unreadable", f"{report.unreadable}")
    table.add_row("personal data replaced", ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(report.pii_replaced.items()))
                  + f" (in {report.conversations_with_pii} conversations)" if report.pii_replaced else "none found")
    table.add_row("turns repaired", ", ".join(f"{what} {n}" for what, n in report.repairs.items()) or "none")
    for reason, n in report.rejected.most_common():
        table.add_row(f"rejected: {reason}", str(n))
    table.add_row("accepted", f"[green]{report.accepted}[/]")
    console.print(table)
    for bad in read.bad[:20]:
        console.print(f"[yellow]unreadable[/] {escape(bad.where)}: {escape(scrub(bad.reason).text)}", highlight=False)
    if len(read.bad) > 20:
        console.print(f"... and {len(read.bad) - 20} more in {report_path}")
    console.print(f"conversations: {conversations}  (pass --conversations {conversations} to generate or run)\n"
                  f"report:        {report_path}\n"
                  f"audit:         python loop.py audit {workspace}", highlight=False)
