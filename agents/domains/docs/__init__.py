"""Docs: questions about a documentation set, answered with citations and
quotes.

corpus.py reads a docs folder into sections (formats.py: one reader per format;
includes.py: Sphinx and MkDocs includes); facts.py finds what sections state;
generate.py drafts questions from them; verify.py checks every quote and
citation against the text.
"""

from agents.domains.base import CONTEXT, CONTEXT_CHARS, DATA, DomainEntry, Source

ENTRY = DomainEntry(
    "questions about your documentation, answered with citations and quotes checked against the text",
    (Source("docs", "a documentation folder or file: Markdown, reStructuredText, HTML or PDF (default: data/docs, "
                    "our example docs)", default=str(DATA / "docs")),
     Source("docs_title", "the name of what the docs document, used in questions and the system prompt (default: "
                          "MkDocs' site_name or Sphinx's project, else the first page's title, else the package's "
                          "or the folder's name)", kind="text"),
     CONTEXT, CONTEXT_CHARS),
    open="agents.domains.docs.generate:open_domain")
