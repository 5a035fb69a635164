"""The built wheel carries everything the middleware needs at run time, and works from outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr[-2000:]}")
    return next(out.glob("adguard_mw-*.whl"))


def test_the_wheel_holds_static_files_templates_types_and_the_demo(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "adguard_mw/py.typed",
        "adguard_mw/static/detector.js",
        "adguard_mw/static/message.js",
        "adguard_mw/static/message.css",
        "adguard_mw/static/adguard-mw.d.ts",
        "adguard_mw/templates/panel.html",
        "adguard_mw/templates/layer.html",
        "adguard_mw/templates/overlay.html",
        "adguard_mw/templates/wall.html",
        "adguard_mw/examples/news_site/app.py",
        "adguard_mw/examples/news_site/static/app.js",
    }
    assert expected <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "adguard-mw = adguard_mw.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_serves_the_demo_from_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site-packages"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    script = f"""
import asyncio, httpx, adguard_mw
from adguard_mw.cli import demo_app
from adguard_mw import Policy
assert adguard_mw.__file__.startswith({str(target)!r}), adguard_mw.__file__
app = demo_app(None, Policy(mode="soft"))
async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://news.test") as c:
        page = await c.get("/")
        script = await c.get(f"{{app.names.prefix}}/{{app.names.script}}")
    assert page.status_code == 200 and app.names.script in page.text, page.text[:300]
    assert script.status_code == 200 and app.names.beacon in script.text
asyncio.run(main())
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_the_sdist_builds_and_a_wheel_built_from_it_is_complete(tmp_path: Path) -> None:
    """What PyPI would ship as source must rebuild into the same, complete wheel."""
    sdist_dir, wheel_dir = tmp_path / "sdist", tmp_path / "wheel"
    build = [sys.executable, "-m", "build", "--sdist", "--outdir", str(sdist_dir), str(ROOT)]
    result = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    sdist = next(sdist_dir.glob("adguard_mw-*.tar.gz"))
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheel_dir), str(sdist)]
    result = subprocess.run(wheel, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    names = set(zipfile.ZipFile(next(wheel_dir.glob("adguard_mw-*.whl"))).namelist())
    assert {"adguard_mw/static/detector.js", "adguard_mw/templates/wall.html", "adguard_mw/py.typed"} <= names
    assert "adguard_mw/examples/news_site/app.py" in names
