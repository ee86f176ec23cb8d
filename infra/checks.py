"""The external checks ``make test`` runs on what would be deployed (``python -m infra.checks``).

- checkov on ``build/template.yaml`` (the output of ``make package``): zero failed checks; each
  check the platform does not follow is skipped inline in the template, with its reason;
- statelint (PyPI) on every state machine definition in ``stepfunctions/``, as written;
- asl-validator (npm) on the same files. It validates Task ``Resource`` ARNs against the service
  ARN formats and so cannot read an ARN with a ``${Partition}`` placeholder in it: each definition
  is checked with the placeholders filled exactly as CloudFormation fills them
  (``DefinitionSubstitutions`` of the infra template), once for the ``aws`` and once for the
  ``aws-cn`` partition, with its ARN checks on.

(cfn-lint, the fourth check, runs in ``make package`` itself.) The checkers are installed by the
Makefile: checkov and statelint in ``.venv-tools`` (checkov pins boto3 and packaging versions that
conflict with the app's), asl-validator in ``tools/node_modules``.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOOLS_VENV = PROJECT_ROOT / ".venv-tools"
NODE_TOOLS = PROJECT_ROOT / "tools" / "node_modules" / ".bin"
INFRA_TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
PARTITIONS = {"aws": ("us-east-1", "amazonaws.com"), "aws-cn": ("cn-north-1", "amazonaws.com.cn")}
ACCOUNT = "123456789012"
SERVICES = {"AWS::SQS::Queue": "sqs", "AWS::DynamoDB::Table": "dynamodb", "AWS::SNS::Topic": "sns",
            "AWS::Lambda::Function": "lambda", "AWS::Serverless::Function": "lambda", "AWS::S3::Bucket": "s3",
            "AWS::StepFunctions::StateMachine": "states", "AWS::KMS::Key": "kms", "AWS::Events::Rule": "events",
            "AWS::Logs::LogGroup": "logs"}
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class ToolMissing(RuntimeError):
    """A checker is not installed (run ``make tools``)."""


@dataclass
class CheckResult:
    """One checker's verdict on one input."""

    tool: str
    target: str
    ok: bool
    output: str


def _tool(path: Path) -> str:
    if not path.exists():
        raise ToolMissing(f"{path} is not installed: run `make tools`")
    return str(path)


# --------------------------------------------------------------------------- placeholders
class _SampleValues:
    """What CloudFormation would put for Refs, GetAtts and Subs of the infra template, with a
    sample account, in one partition."""

    def __init__(self, template: dict[str, Any], partition: str) -> None:
        self.resources = template.get("Resources") or {}
        self.partition = partition
        self.region, self.suffix = PARTITIONS[partition]

    def _name(self, logical_id: str) -> str:
        return str(((self.resources.get(logical_id) or {}).get("Metadata") or {}).get("LocalName", logical_id))

    def _arn(self, logical_id: str) -> str:
        kind = (self.resources.get(logical_id) or {}).get("Type", "")
        service = SERVICES.get(kind, "unknown")
        name = self._name(logical_id)
        resource = {"dynamodb": f"table/{name}", "lambda": f"function:{name}", "states": f"stateMachine:{name}",
                    "kms": f"key/{name}", "events": f"rule/{name}", "logs": f"log-group:{name}"}.get(service, name)
        if service == "s3":
            return f"arn:{self.partition}:s3:::{name}"
        return f"arn:{self.partition}:{service}:{self.region}:{ACCOUNT}:{resource}"

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": ACCOUNT,
                  "AWS::URLSuffix": self.suffix, "AWS::StackName": "complaint-platform"}
        if name in pseudo:
            return pseudo[name]
        kind = (self.resources.get(name) or {}).get("Type")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.{self.suffix}/{ACCOUNT}/{self._name(name)}"
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self._arn(name)
        return self._name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self._arn(logical_id)
        if attribute == "StreamArn":
            return f"{self._arn(logical_id)}/stream/2026-01-01T00:00:00.000"
        if attribute in ("QueueUrl",):
            return self.ref(logical_id)
        return self._name(logical_id)

    def value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return self.ref(value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
            return self.get_att(logical_id, attribute)
        if isinstance(value, dict) and "Fn::Sub" in value:
            body = value["Fn::Sub"]
            text, variables = (body, {}) if isinstance(body, str) else (body[0], body[1])

            def one(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return self.value(variables[name])
                if "." in name and not name.startswith("AWS::"):
                    return self.get_att(*name.split(".", 1))
                return self.ref(name)
            return PLACEHOLDER.sub(one, text)
        raise ValueError(f"cannot give a sample value for {value!r}")


def substitutions_for(definition: Path, template: dict[str, Any], partition: str) -> dict[str, str]:
    """The values CloudFormation substitutes into ``definition`` (the state machine of the infra
    template whose ``Metadata.DefinitionFile`` it is), for ``partition``."""
    values = _SampleValues(template, partition)
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        source = (resource.get("Metadata") or {}).get("DefinitionFile")
        if source and (PROJECT_ROOT / source).resolve() == definition.resolve():
            subs = (resource.get("Properties") or {}).get("DefinitionSubstitutions") or {}
            return {name: values.value(value) for name, value in subs.items()}
    return {}


def filled(definition: Path, template: dict[str, Any], partition: str) -> str:
    """``definition``'s text with its ``${Placeholders}`` filled for ``partition``; an unknown
    placeholder is left as written (the validator then reports it)."""
    subs = substitutions_for(definition, template, partition)
    return PLACEHOLDER.sub(lambda m: subs.get(m.group(1), m.group(0)), definition.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- checkers
def run_statelint(definitions: list[Path]) -> list[CheckResult]:
    """statelint on each definition as written."""
    statelint = _tool(TOOLS_VENV / "bin" / "statelint")
    results = []
    for path in definitions:
        completed = subprocess.run([statelint, str(path)], capture_output=True, text=True, check=False)
        output = (completed.stdout + completed.stderr).strip()
        results.append(CheckResult("statelint", str(path), completed.returncode == 0 and not output, output))
    return results


def run_asl_validator(definitions: list[Path], template: dict[str, Any]) -> list[CheckResult]:
    """asl-validator on each definition, its placeholders filled for each partition."""
    validator = _tool(NODE_TOOLS / "asl-validator")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for path in definitions:
            for partition in PARTITIONS:
                target = Path(folder) / f"{partition}-{path.name}"
                target.write_text(filled(path, template, partition), encoding="utf-8")
                completed = subprocess.run([validator, "--json-path", str(target)], capture_output=True, text=True,
                                           check=False)
                output = (completed.stdout + completed.stderr).strip().replace(str(target), f"{path} ({partition})")
                results.append(CheckResult("asl-validator", f"{path} ({partition})", completed.returncode == 0, output))
    return results


def run_checkov(template_path: Path) -> CheckResult:
    """checkov on the built template; ok only with zero failed checks.

    ``--skip-download``: checkov otherwise asks Prisma Cloud for guideline links first; with no
    network that costs DNS timeouts and retries, and the checks themselves are all local.
    """
    checkov = _tool(TOOLS_VENV / "bin" / "checkov")
    completed = subprocess.run([checkov, "-f", str(template_path), "--framework", "cloudformation", "--quiet",
                                "--compact", "-o", "json", "--skip-download"], capture_output=True, text=True,
                               check=False)
    try:
        report = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        return CheckResult("checkov", str(template_path), False, completed.stdout[-4000:] + completed.stderr[-4000:])
    reports = report if isinstance(report, list) else [report]
    failed = [check for r in reports for check in (r.get("results") or {}).get("failed_checks", [])]
    summary = [r.get("summary", {}) for r in reports]
    lines = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed]
    parsing_errors = sum(int(s.get("parsing_errors", 0)) for s in summary)
    passed = sum(int(s.get("passed", 0)) for s in summary)
    skipped = sum(int(s.get("skipped", 0)) for s in summary)
    lines.append(f"{passed} passed, {len(failed)} failed, {skipped} skipped (inline, with reasons), "
                 f"{parsing_errors} parsing errors")
    ok = not failed and not parsing_errors and passed > 0 and completed.returncode == 0
    return CheckResult("checkov", str(template_path), ok, "\n".join(lines))


def definitions(root: Path = PROJECT_ROOT / "stepfunctions") -> list[Path]:
    """Every state machine definition file in ``root``."""
    return sorted(root.glob("*.asl.json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=PROJECT_ROOT / "build" / "template.yaml",
                        help="the built template (make package)")
    args = parser.parse_args(argv)
    with open(INFRA_TEMPLATE, encoding="utf-8") as handle:
        infra = yaml.safe_load(handle)
    files = definitions()
    try:
        # checkov takes most of the time: the state machine checkers run beside it.
        with ThreadPoolExecutor(max_workers=2) as pool:
            checkov = pool.submit(run_checkov, args.template) if args.template.exists() else None
            machines = run_statelint(files) + run_asl_validator(files, infra)
            results = [checkov.result() if checkov else CheckResult(
                "checkov", str(args.template), False, "missing: run `make package` first")] + machines
    except ToolMissing as exc:
        print(f"checks: {exc}", file=sys.stderr)
        return 2
    if not files:
        results.append(CheckResult("stepfunctions", "stepfunctions/", False, "no *.asl.json definitions found"))
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'} {result.tool}: {result.target}")
        if result.output and (not result.ok or result.tool == "checkov"):
            print("     " + result.output.replace("\n", "\n     "))
    failed = [r for r in results if not r.ok]
    print(f"checks: {len(failed)} of {len(results)} failed" if failed else f"checks: all {len(results)} ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
