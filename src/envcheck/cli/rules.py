"""``envcheck rules``: the rule catalog, in the order the rules are tried."""

from __future__ import annotations

import click

from ..console import write_stdout
from ..rules.catalog import CATALOG


@click.command()
def rules() -> None:
    """List the rule catalog: what each rule judges, how severe, and its reference.

    \b
    Examples:
      envcheck rules                         every rule, in the order they are tried
      envcheck rules | grep -A2 tf32         why a TF32 change is judged as it is
      # move a rule's severity in envcheck.toml:  [severity] cpu-cores = "benign"
    """
    lines = []
    for rule in CATALOG:
        when = rule.when.name if rule.when else None
        condition = f" (when {when}; otherwise {rule.otherwise.value})" \
            if when and rule.otherwise else f" (when {when})" if when else ""
        lines += [f"{rule.id}  [{rule.section}] {rule.severity.value}{condition}",
                  f"    matches {', '.join(rule.subjects)}; {rule.reason}",
                  f"    see {rule.reference}"]
    write_stdout("".join(f"{line}\n" for line in lines))
