"""Config: the user's own domain, defined by a YAML file, with no code of ours.

definition.py reads and validates the file; generate.py renders its templates
and prompts; verify.py runs the checks it declares.
"""

from agents.domains.base import DATA, SANDBOX, DomainEntry, Source

ENTRY = DomainEntry(
    "your own domain, defined in a YAML file (see the README: Define your own domain)",
    (Source("domain_config", "a YAML file that defines your own domain: categories, seed examples, templates, "
                             "checks and scoring", required=True), SANDBOX),
    open="agents.domains.config.generate:open_domain",
    example={"domain_config": str(DATA / "domains" / "bookshop_sql" / "bookshop_sql.yaml")})
