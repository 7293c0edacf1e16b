"""Teachers, the domains, and the LangGraph example graph.

Where a new piece goes:
- a built-in domain: a package `domains/<name>/` (its `ENTRY`, generator,
  prompts, verifier, source readers and subcommands) and its name in
  `domains/__init__.py` (BUILT_IN); a user's domain is a YAML file, no code;
- a check every domain gets: a node of the example graph (`example_graph.py`);
- a teacher back end: a module in `teachers/` subclassing `LLMTeacher`, and its
  spec in `teachers/__init__.py` (`parse_teacher_spec`, `make_teacher`).
"""
