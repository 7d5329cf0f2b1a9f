"""The distribution builds as a wheel that installs and works in a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("idocbridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {"framework": "idocbridge", "models": "idocbridge/models", "generators": "idocbridge/generators"}
    expected = {
        f"{package}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, package in sources.items()
        for path in (ROOT / folder).rglob("*.py")
    }
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    assert "idocbridge/py.typed" in names
    assert not any(name.startswith(("framework/", "models/", "tests/")) for name in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600)
    probe = (
        "import idocbridge, idocbridge.models as m; "
        "print(idocbridge.__version__, idocbridge.__file__); "
        f"print(m.load_model({str(EXAMPLES / 'trfc_client' / 'model.xml')!r}).model.name)"
    )
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    version_line, name_line = result.stdout.splitlines()
    assert str(env_dir) in version_line
    assert name_line == "tRFCClientExample"
    cli = subprocess.run(
        [env_dir / "bin" / "idocbridge", "validate", "-q", str(EXAMPLES / "trfc_client" / "model.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
