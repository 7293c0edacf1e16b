"""Teachers, per-domain generators and prompts, and the LangGraph example graph.

Where a new piece goes:
- a built-in domain: its generator, prompts and verifier beside the others in
  `domains/` and `evaluators/`, and one entry in `domains/__init__.py` (DOMAINS);
  a user's domain is a YAML file, no code;
- a check every domain gets: a node of the example graph (`example_graph.py`);
- a teacher back end: a module in `teachers/` subclassing `LLMTeacher`, and its
  spec in `teachers/__init__.py` (`parse_teacher_spec`, `make_teacher`).
"""
