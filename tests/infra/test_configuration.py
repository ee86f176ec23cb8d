"""Every setting the deployed code reads is set for each function by the built template, or refused at
start-up, or declared optional with its reason (issue 17, point 3)."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterator

import pytest

from chalicelib import config
from chalicelib.local.bootstrap import PROJECT_ROOT

pytestmark = pytest.mark.package  # builds the template (chalice package) once per session

NOT_DEPLOYED = ("chalicelib/local/",)  # left out of the deployment zip (make package)


def _deployed_sources() -> Iterator[Path]:
    yield PROJECT_ROOT / "app.py"
    for path in sorted((PROJECT_ROOT / "chalicelib").rglob("*.py")):
        if not str(path.relative_to(PROJECT_ROOT)).startswith(NOT_DEPLOYED):
            yield path


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def environment_reads(path: Path) -> set[str]:
    """Names of the environment variables ``path`` reads: ``os.environ.get/[]``, ``os.getenv``, and
    config's ``_env``; a name given as a module constant is resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}

    def name_of(arg: ast.AST) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            return constants.get(arg.id)
        return None

    # config's _env(name, default) is the reader itself: its callers are what counts
    helpers = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "_env"
               for inner in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in helpers:
            continue
        argument = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value)) or \
                    (isinstance(func, ast.Attribute) and func.attr == "getenv") or \
                    (isinstance(func, ast.Name) and func.id == "_env"):
                argument = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            argument = node.slice
        if argument is not None:
            name = name_of(argument)
            assert name, f"{path}: an environment variable read by a name this test cannot resolve"
            found.add(name)
    return found


def _function_environments(template: dict[str, Any]) -> dict[str, set[str]]:
    common = set(template["Globals"]["Function"]["Environment"]["Variables"])
    return {logical_id: common | set(((r["Properties"].get("Environment") or {}).get("Variables") or {}))
            for logical_id, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def test_every_setting_read_is_set_for_every_function_or_refused_or_optional(built_template: dict[str, Any]) -> None:
    reads: dict[str, set[str]] = {}
    for path in _deployed_sources():
        for name in environment_reads(path):
            reads.setdefault(name, set()).add(str(path.relative_to(PROJECT_ROOT)))
    assert {"TABLE_NAME", "NOTIFY_EMAIL_SENDER", "SMS_SECRET_ID", "BLIND_INDEX_KEY_SECRET_ID"} <= set(reads)

    environments = _function_environments(built_template)
    for name, where in sorted(reads.items()):
        missing = sorted(lid for lid, env in environments.items() if name not in env)
        if not missing:
            continue
        assert name in config.OPTIONAL_SETTINGS or name in config.REFUSED_WHEN_MISSING, (
            f"{name} (read by {', '.join(sorted(where))}) is not set for {', '.join(missing)}: set it in "
            f"infra/template.yaml or .chalice/config.json, refuse it at start-up, or declare it optional")
    # the lists name only what the code reads
    assert set(config.OPTIONAL_SETTINGS) <= set(reads), set(config.OPTIONAL_SETTINGS) - set(reads)
    assert set(config.REFUSED_WHEN_MISSING) <= set(reads), set(config.REFUSED_WHEN_MISSING) - set(reads)


def _deployed_environment(template: dict[str, Any]) -> dict[str, str]:
    """A complete deployed environment of the API function, with plausible values."""
    env = {name: f"value-of-{name.lower()}" for name in _function_environments(template)["APIHandler"]}
    env.update({name: str(value) for name, value in
                template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"].items()})
    env.update({"JWT_ISSUER": "https://sso.example.gov.cn", "JWKS_URL": "https://sso.example.gov.cn/jwks",
                "NOTIFY_EMAIL_SENDER": "noreply@notify.example.gov.cn", "BLIND_INDEX_KEY_SECRET_ID": "blind-index"})
    return env


@pytest.mark.parametrize("name", config.REFUSED_WHEN_MISSING)
def test_a_deployed_stage_refuses_to_start_without(name: str, built_template: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env = _deployed_environment(built_template)
    assert env["STAGE"] == "prod" and env["NOTIFY_SMS_ADAPTER"] == "aliyun"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BLIND_INDEX_KEY", raising=False)
    config.reset_settings()
    try:
        assert config.get_settings().stage == "prod"  # complete: it starts
        monkeypatch.delenv(name)
        config.reset_settings()
        with pytest.raises(config.ConfigurationError, match=name):
            config.get_settings()
    finally:
        monkeypatch.undo()
        config.reset_settings()


def test_the_blind_index_key_comes_from_secrets_manager(aws: dict[str, str]) -> None:
    from chalicelib.aws import client

    secret_id = aws["BLIND_INDEX_KEY_SECRET_ID"]  # the template's generated secret, created locally too
    value = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    assert len(value) == 64
    assert config.blind_index_key() == value
    client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString="short")
    config.reset_settings()
    with pytest.raises(config.ConfigurationError, match="shorter"):
        config.blind_index_key()
