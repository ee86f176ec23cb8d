"""Fixtures for the infra tests: a moto server on a free loopback port, reset before each test."""
from __future__ import annotations

import urllib.request
from typing import Iterator

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """The endpoint URL of a moto server bound to 127.0.0.1 on a port the OS picked."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def endpoint(moto_server: str) -> str:
    """The moto server, emptied: every test starts from no resources at all."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    return moto_server


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``make package``'s merged template, built once per session: ``chalice package`` and the merge with
    infra/ (functions, roles, event sources, state machines), without the layer builds and size checks
    that ``make package`` adds (tests/infra/test_make_package.py runs those).

    Under ``make test``, ``make checks`` has just built build/template.yaml: it is read instead when its
    report says it was built from the sources as they are now (the same merge, with the layers
    attached: nothing these tests look at)."""
    import json

    import yaml

    from infra import package_report
    from infra.package import INFRA_TEMPLATE, PROJECT_ROOT, merge, run_chalice_package

    if package_report.fresh(PROJECT_ROOT / "build", PROJECT_ROOT) is not None:
        with open(PROJECT_ROOT / "build" / "template.yaml", encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    out = tmp_path_factory.mktemp("package") / "build"
    sam = json.loads(run_chalice_package(PROJECT_ROOT, "prod", out / "chalice").read_text(encoding="utf-8"))
    with open(INFRA_TEMPLATE, encoding="utf-8") as handle:
        infra = yaml.safe_load(handle)
    return merge(sam, infra, definitions_root=PROJECT_ROOT, code_prefix="chalice").template
