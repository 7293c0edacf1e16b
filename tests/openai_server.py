"""A scripted OpenAI-compatible server on 127.0.0.1, standing in for a hosted
teacher (the one boundary we fake). It answers Cypher generation prompts with
a valid example built from the values the prompt shows, a config domain's
generation prompts with one of the seed examples they show, docs and chat
prompts with an example that is wrong on purpose (or, for chat, in turn
right), agrees with every critique, grades a rubric with a score from the
answer's hash (1-10; a chat rubric's "helpful" 1-5), and, on
a fixed schedule, misbehaves:

    every `--rate-limit-every`-th call: 429 with Retry-After
    every `--error-every`-th call:      500
    every `--malformed-every`-th call:  200 with content that is not JSON
    every `--slow-every`-th call:       answers after `--slow-s` seconds

Run it as a script; it prints `PORT <n>` once it listens. GET /stats returns
the number of chat calls served.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.calls = 0
        self.lock = threading.Lock()

    def next_call(self) -> int:
        with self.lock:
            self.calls += 1
            return self.calls

    def fault(self, n: int) -> str:
        a = self.args
        for name, every in (("rate_limit", a.rate_limit_every), ("error", a.error_every),
                            ("malformed", a.malformed_every), ("slow", a.slow_every)):
            if every and n % every == 0:
                return name
        return ""


def answer(messages: list[dict]) -> dict:
    """A valid draft for a generation prompt; agreement for a critique prompt."""
    system = messages[0]["content"]
    prompt = "\n".join(m["content"] for m in messages)
    digest = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    if "Score each criterion" in system:
        return {"helpful": digest % 5 + 1, "correct": 5, "follows_system_prompt": 5, "consistent": 5,
                "reason": f"scripted rubric {digest % 1000}"}
    if "review" in system:
        return {"verdict": "agree", "reason": "the query matches the question"}
    if "training conversations for a chat assistant" in system:
        return chat_answer(prompt, digest)
    if "grade answers against a rubric" in system:
        return {"score": digest % 10 + 1, "reason": f"scripted grade for answer {digest % 1000}"}
    if "documentation assistant" in system:
        return docs_answer(prompt, digest)
    if "specialist model" in system:
        shots = [json.loads(line) for line in prompt.splitlines() if line.startswith('{"instruction"')]
        return shots[digest % len(shots)]
    found = re.search(r"Some (\w+) (\w+) values in the graph: (.+?)\.\n", prompt)
    label, key, values = found.group(1), found.group(2), re.findall(r"'((?:[^'\\]|\\.)*)'", found.group(3))
    value = values[digest % len(values)]
    limit = digest % 40 + 1
    return {"question": f"Return up to {limit} {label} nodes whose {key} is '{value}'.",
            "cypher": f"MATCH (n:{label}) WHERE n.{key} = '{value}' RETURN n.{key} AS {key} LIMIT {limit}"}


CHAT_ANSWER = ("Slicing with a step of -1 returns a reversed copy:\n\n```python\nprint([1, 2, 3][::-1])\n```\n\n"
               "Output:\n\n```text\n[3, 2, 1]\n```")


def chat_answer(prompt: str, digest: int) -> dict:
    """A conversation that is right, or wrong in one of three ways, in turn by
    the prompt's hash: two user turns in a row, an email left in, boilerplate."""
    ask = {"role": "user", "content": "How do I reverse a list in Python?"}
    kind = digest % 4
    if kind == 1:
        return {"messages": [ask, {"role": "user", "content": "Quickly please."}, {"role": "assistant", "content": CHAT_ANSWER}]}
    if kind == 2:
        return {"messages": [ask, {"role": "assistant", "content": CHAT_ANSWER + "\nMore help: help.desk@example.com"}]}
    if kind == 3:
        return {"messages": [ask, {"role": "assistant", "content": "As an AI language model, I would use slicing."}]}
    if "outside the assistant's scope" in prompt:
        return {"messages": [{"role": "user", "content": "Write me a poem."},
                             {"role": "assistant", "content": "I'm sorry, but poems are outside what I can help with here."}]}
    return {"messages": [ask, {"role": "assistant", "content": CHAT_ANSWER}]}


def docs_answer(prompt: str, digest: int) -> dict:
    """A docs example that is wrong in one of four ways, in turn by the prompt's
    hash: a quote the section does not hold, a section that does not exist, a
    made-up option and number, or an answer to a question the docs do not cover."""
    if "do NOT answer" in prompt:
        return {"question": "Does it support LDAP?", "answer": "Yes: set `ldap_url` in the server table."}
    shown = re.search(r"^\[([^\]]+#[^\]]+)\] \(.*?\)\n(.+)$", prompt, re.M)
    section, title = shown.group(1), shown.group(2).strip()
    question = f"What does the section {title} say?"
    kind = digest % 3
    if kind == 0:
        return {"question": question, "answer": f'{title}.\n\nSources:\n[{section}] "A sentence this section never says."'}
    if kind == 1:
        return {"question": question, "answer": f'{title}.\n\nSources:\n[{section}-nope] "{title}"'}
    return {"question": question, "answer": f'{title}: pass `--turbo-mode` with 977 workers.\n\nSources:\n[{section}] "{title}"'}


def make_handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the client's
        # delayed ACK stalls every reply by ~40 ms. Real servers set TCP_NODELAY.
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def reply(self, status: int, body: dict | str, headers: dict | None = None) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self.reply(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
            elif self.path.endswith("/stats"):
                self.reply(200, {"calls": script.calls})
            else:
                self.reply(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            n = script.next_call()
            fault = script.fault(n)
            time.sleep(script.args.latency_s + (script.args.slow_s if fault == "slow" else 0.0))
            if fault == "rate_limit":
                return self.reply(429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"Retry-After": "0.05"})
            if fault == "error":
                return self.reply(500, {"error": {"message": "scripted failure"}})
            content = "{this is not json" if fault == "malformed" else json.dumps(answer(request["messages"]))
            prompt_chars = sum(len(m["content"]) for m in request["messages"])
            self.reply(200, {
                "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()), "model": request["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(content) // 4,
                          "total_tokens": prompt_chars // 4 + len(content) // 4},
            })

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's default backlog of 5 drops the SYNs of a 32-wide burst

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and hung up on a slow answer is part of the script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--rate-limit-every", type=int, default=0)
    parser.add_argument("--error-every", type=int, default=0)
    parser.add_argument("--malformed-every", type=int, default=0)
    parser.add_argument("--slow-every", type=int, default=0)
    parser.add_argument("--slow-s", type=float, default=2.0)
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", args.port), make_handler(Script(args)))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
