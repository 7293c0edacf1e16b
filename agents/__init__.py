"""Teachers, per-domain generators and prompts, and the LangGraph example graph."""
