"""Loading Step Functions definitions (``stepfunctions/*.asl.json``) with their placeholders filled.

The ASL files are the single source for AWS and the local runtime. They name the resources they
touch with CloudFormation-style ``${Placeholders}`` (``${TableName}``, ``${WorkflowQueueUrl}``,
``arn:${Partition}:states:::dynamodb:getItem``...). On AWS, the state machine's
``DefinitionSubstitutions`` (infra/template.yaml) fills them; locally, this module does the same
with the bootstrap's values, and refuses a definition that would still contain one.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


class AslError(ValueError):
    """An ASL file is missing, is not JSON, or names a placeholder nobody fills."""


def placeholders(text: str) -> set[str]:
    """The names of the ``${...}`` placeholders in an ASL document's text."""
    return set(PLACEHOLDER.findall(text))


def fill(text: str, substitutions: Mapping[str, str], *, source: str = "definition") -> str:
    """``text`` with every ``${Name}`` replaced by ``substitutions[Name]``.

    Like CloudFormation's DefinitionSubstitutions, a value is inserted verbatim. Raises
    :class:`AslError` naming every placeholder without a value, or when the result is not JSON.
    """
    missing = sorted(placeholders(text) - set(substitutions))
    if missing:
        raise AslError(f"{source}: no value for placeholder(s) {', '.join(missing)}")
    filled = PLACEHOLDER.sub(lambda match: str(substitutions[match.group(1)]), text)
    try:
        json.loads(filled)
    except json.JSONDecodeError as exc:
        raise AslError(f"{source}: not valid JSON once filled: {exc}") from exc
    return filled


def read_definition(path: str | Path) -> dict[str, Any]:
    """The ASL document at ``path`` as a dict, placeholders untouched (for the deployed template)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AslError(f"{path}: cannot read the state machine definition: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AslError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "StartAt" not in document or "States" not in document:
        raise AslError(f"{path}: not an Amazon States Language document (needs StartAt and States)")
    return document


def load_definition(path: str | Path, substitutions: Mapping[str, str]) -> str:
    """The ASL document at ``path`` as JSON text with its placeholders filled (for the local runtime)."""
    read_definition(path)  # fail early and clearly on a broken file
    return fill(Path(path).read_text(encoding="utf-8"), substitutions, source=str(path))
