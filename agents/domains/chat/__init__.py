"""Chat: a helpful multi-turn assistant under the user's system prompt.

formats.py reads conversation exports; imports.py cleans them (repair, personal
data scrubbing, dedup, token budget) for `loop.py chat import` (cli.py);
generate.py synthesises conversations around them; verify.py checks each one.
"""

from agents.domains.base import DATA, SANDBOX, DomainEntry, Source

TOKENIZER = Source("tokenizer", "the student a conversation must fit: a preset (its tokenizer, chat template and "
                                "max_seq_len) or a model folder, FOLDER[:MAX_TOKENS] (default: smollm2_135m, 512 tokens)",
                   kind="text", default="smollm2_135m")

ENTRY = DomainEntry(
    "a helpful multi-turn assistant under your system prompt, from real and synthesised conversations",
    (Source("conversations", "conversations to learn from, one {\"messages\": [...]} per line: what `loop.py chat "
                             "import` writes to WORKSPACE/imports/ (default: data/chat/conversations.jsonl, ours)",
            default=str(DATA / "chat" / "conversations.jsonl")),
     Source("bank", "the offline teacher's bank: topics with runnable answers, personas, out-of-scope requests and "
                    "the system prompt (default: data/chat/bank.yaml, Python how-tos)",
            default=str(DATA / "chat" / "bank.yaml")),
     Source("system_prompt", "the assistant's system prompt (default: the bank's)", kind="text"),
     TOKENIZER,
     SANDBOX,
     Source("grader", "an LLM that scores held-out answers against the reference with the rubric: "
                      "openai:<model>@<base_url> or llamacpp:<path.gguf> (default: offline scoring)", kind="text")),
    open="agents.domains.chat.generate:open_domain", commands="agents.domains.chat.cli:app")
