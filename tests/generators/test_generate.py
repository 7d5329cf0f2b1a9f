"""idocbridge generate: deterministic, clean Python, valid XSD, a WSDL zeep loads, hooks kept."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import zeep
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from tests.conftest import EXAMPLES, ROOT

MODEL = EXAMPLES / "trfc_client" / "model.yaml"
SERVICE = "saptRFCClientService"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(load_model(MODEL).model, "model.yaml", out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_model_gives_the_same_bytes(generated: Path, tmp_path: Path) -> None:
    generate(load_model(MODEL).model, "model.yaml", tmp_path)
    assert _files(tmp_path) == _files(generated)
    from_xml = tmp_path / "from-xml"
    generate(load_model(MODEL.with_suffix(".xml")).model, "model.yaml", from_xml)
    assert _files(from_xml) == _files(generated)


def test_generated_files_start_with_a_do_not_edit_header(generated: Path) -> None:
    for name in ("service.py", "service.wsdl", "types.xsd", "__init__.py"):
        assert "DO NOT EDIT" in (generated / SERVICE / name).read_text()[:400], name
    assert "DO NOT EDIT" not in (generated / SERVICE / "hooks.py").read_text()


def test_hooks_are_never_overwritten(tmp_path: Path) -> None:
    model = load_model(MODEL).model
    generate(model, "model.yaml", tmp_path)
    hooks = tmp_path / SERVICE / "hooks.py"
    hooks.write_text(hooks.read_text() + "\n# my own code\n")
    written = generate(model, "model.yaml", tmp_path)
    assert hooks not in written
    assert hooks.read_text().endswith("# my own code\n")


def _package_view(folder: Path) -> Path:
    """The source folders as the package ``idocbridge``, for mypy (as ./run lint builds it)."""
    package = folder / "idocbridge"
    if not package.exists():
        package.mkdir(parents=True)
        for entry in (ROOT / "framework").iterdir():
            (package / entry.name).symlink_to(entry)
        (package / "models").symlink_to(ROOT / "models")
        (package / "generators").symlink_to(ROOT / "generators")
    return folder


def test_generated_python_is_clean_under_ruff_and_mypy(generated: Path) -> None:
    bin_dir = Path(sys.executable).parent
    config = str(ROOT / "pyproject.toml")
    for command in (
        [bin_dir / "ruff", "check", "--config", config, str(generated)],
        [bin_dir / "ruff", "format", "--check", "--config", config, str(generated)],
    ):
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    view = _package_view(generated.parent / "typecheck")
    result = subprocess.run(
        [bin_dir / "mypy", "--config-file", config, "--strict", "-p", SERVICE],
        capture_output=True, text=True, check=False, cwd=generated, env={"MYPYPATH": str(view), "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_xsd_is_valid_and_carries_ddic_facets(generated: Path) -> None:
    document = etree.parse(str(generated / SERVICE / "types.xsd"))
    etree.XMLSchema(document)
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    char10 = document.find(".//xs:simpleType[@name='ddic.CHAR.10']/xs:restriction/xs:maxLength", xs)
    assert char10 is not None and char10.get("value") == "10"
    dats = document.find(".//xs:simpleType[@name='ddic.DATS']/xs:restriction/xs:pattern", xs)
    assert dats is not None and dats.get("value") == "[0-9]{8}"
    lines = document.find(".//xs:complexType[@name='SendTXTRAWRequest']//xs:element[@name='lines']", xs)
    assert lines is not None and lines.get("maxOccurs") == "unbounded" and lines.get("type") == "tns:ddic.CHAR.72"


def test_zeep_loads_the_wsdl_without_warnings(generated: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = zeep.Client(str(generated / SERVICE / "service.wsdl"))
    service = client.wsdl.services[SERVICE]
    assert sorted(service.ports) == ["IDocInterfaceSoap11", "IDocInterfaceSoap12"]
    operations = service.ports["IDocInterfaceSoap11"].binding._operations
    assert sorted(operations) == ["SendAnyIDoc", "SendTXTRAW", "TestSimpleTypes"]
    assert operations["SendAnyIDoc"].soapaction == f"urn:tRFCClientExample:{SERVICE}/SendAnyIDoc"


def test_the_cli_generates(tmp_path: Path) -> None:
    result = subprocess.run(
        [Path(sys.executable).parent / "idocbridge", "generate", str(MODEL), "-o", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "generated 8 files for 1 service(s)" in result.stdout
    assert (tmp_path / "idocbridge.json").exists()
