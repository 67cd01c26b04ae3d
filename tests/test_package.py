"""The package as users install it (`pipx install promoter`, `uv tool install promoter`, `pip
install promoter`): `python -m build` makes a wheel and an sdist that pass `twine check --strict`
and `check-wheel-contents`; the wheel alone, installed into a fresh venv, runs `--version`,
`--help` and `promoter demo` from outside this checkout; pipx and uv install it as a tool (the
wheel given as a file: the package index has not got this one)."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from promoter import __version__
from tests.dist_fixtures import Dist, pip_env, venv_with


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / name), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_twine_and_check_wheel_contents_pass(dist: Dist) -> None:
    twine = _tool("twine", "check", "--strict", str(dist.wheel), str(dist.sdist))
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert twine.stdout.count("PASSED") == 2, twine.stdout
    contents = _tool("check-wheel-contents", str(dist.wheel))
    assert contents.returncode == 0, contents.stdout + contents.stderr
    assert ": OK" in contents.stdout


def test_the_metadata_says_the_version_and_the_license(dist: Dist) -> None:
    assert dist.wheel.name == f"promoter-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(dist.wheel) as whl:
        names = whl.namelist()
        meta = email.message_from_bytes(whl.read(f"promoter-{__version__}.dist-info/METADATA"))
        entry_points = whl.read(f"promoter-{__version__}.dist-info/entry_points.txt").decode()
    assert meta["Version"] == __version__ and meta["Name"] == "promoter"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "promoter = promoter.cli:main" in entry_points
    assert f"promoter-{__version__}.dist-info/licenses/LICENSE" in names
    assert "promoter/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "examples/"))]  # the package alone
    with tarfile.open(dist.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml", "src/promoter/cli.py"} <= members


def test_the_wheel_alone_installs_and_runs(dist: Dist, tmp_path: Path) -> None:
    bin_dir = venv_with(dist.wheel, tmp_path / "venv", dist.pip_cache)
    elsewhere = tmp_path / "elsewhere"  # not this checkout: nothing of src/ can be imported
    elsewhere.mkdir()
    env = {**pip_env(dist.pip_cache), "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def promoter(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "promoter"), *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import promoter; print(promoter.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(tmp_path / "venv" / "lib"))
    version = promoter("--version")
    assert (version.returncode, version.stdout) == (0, f"promoter {__version__}\n")
    helped = promoter("--help")
    assert helped.returncode == 0 and "promoter demo" in helped.stdout and "reconcile" in helped.stdout
    demo = promoter("demo", str(tmp_path / "demo"))
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "promoter status" in demo.stdout and (tmp_path / "demo" / "app-interface" / "promotion.yaml").is_file()


def test_pipx_and_uv_install_it_as_a_tool(dist: Dist, tmp_path: Path) -> None:
    python = str(Path(sys.base_prefix) / "bin" / "python3")  # a Python of the machine, not this venv
    env = {
        **pip_env(dist.pip_cache),
        "HOME": str(tmp_path),
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "pipx-bin"),
        "PIPX_DEFAULT_PYTHON": python,
        "UV_TOOL_DIR": str(tmp_path / "uv-tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "uv-bin"),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    tools = Path(sys.executable).parent
    for argv, bin_dir in (
        ([str(tools / "pipx"), "install", str(dist.wheel)], "pipx-bin"),
        ([str(tools / "uv"), "tool", "install", "--python", python, str(dist.wheel)], "uv-bin"),
    ):
        installed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
        version = subprocess.run(
            [str(tmp_path / bin_dir / "promoter"), "--version"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (version.returncode, version.stdout) == (0, f"promoter {__version__}\n"), version.stderr
