"""`make run` for a newcomer: it says what it is doing, warns (with the fix) when no Chinese
font would print the PDFs, and serves the local network on request."""

import shutil
import subprocess
from pathlib import Path

import pytest

from portal import pdf

ROOT = Path(__file__).resolve().parents[2]


def run_doctor(app):
    from portal.cli import doctor_command

    return app.test_cli_runner().invoke(doctor_command)


def test_doctor_warns_with_the_install_command_when_no_cjk_font(app, monkeypatch):
    monkeypatch.setattr(pdf, "cjk_fonts", lambda: [])
    result = run_doctor(app)
    assert result.exit_code == 0, result.output  # a warning: `make run` goes on
    assert "no Chinese (CJK) font" in result.output
    assert "apt-get install fonts-noto-cjk" in result.output


def test_doctor_names_the_font_the_pdfs_use(app, monkeypatch):
    monkeypatch.setattr(pdf, "cjk_fonts", lambda: ["Noto Sans CJK SC", "AR PL UMing CN"])
    result = run_doctor(app)
    assert result.exit_code == 0
    assert "Noto Sans CJK SC" in result.output
    assert "apt-get" not in result.output


def test_cjk_fonts_asks_fontconfig_for_chinese(monkeypatch):
    calls = []

    def fake_run(args, **kwargs):
        calls.append(args)
        out = "Noto Serif CJK JP,Noto Serif CJK\nNoto Sans CJK SC,Noto Sans CJK\n\nAR PL UMing\n"
        return subprocess.CompletedProcess(args, 0, stdout=out, stderr="")

    monkeypatch.setattr(pdf.shutil, "which", lambda name: "/usr/bin/fc-list")
    monkeypatch.setattr(pdf.subprocess, "run", fake_run)
    assert pdf.cjk_fonts() == ["Noto Sans CJK SC", "AR PL UMing", "Noto Serif CJK JP"]
    assert calls == [["/usr/bin/fc-list", ":lang=zh", "family"]]


def test_cjk_fonts_without_fontconfig_is_none(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert pdf.cjk_fonts() == []


def test_no_cjk_font_when_fontconfig_finds_none(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: "/usr/bin/fc-list")
    monkeypatch.setattr(
        pdf.subprocess,
        "run",
        lambda args, **kw: subprocess.CompletedProcess(args, 0, stdout="", stderr=""),
    )
    assert pdf.cjk_fonts() == []


def test_demo_command_tells_what_it_does(app, monkeypatch):
    import portal.demo

    def fake_load(progress=None):
        progress("Importing the estate's units and residents …")
        return True

    monkeypatch.setattr(portal.demo, "load_demo", fake_load)
    monkeypatch.setattr(portal.demo, "demo_summary", lambda: "1,412 units, 40 repairs")
    with app.app_context():  # as `flask` gives every command
        result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Importing the estate's units and residents …"
    assert lines[1].startswith("Demo estate loaded in ") and "1,412 units, 40 repairs" in lines[1]
    assert lines[2].startswith("Demo logins (password portal-demo): resident, resident2")


def make_dry_run(*args) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_make_run_says_each_step_and_checks_the_machine():
    out = make_dry_run()
    steps = [line for line in out.splitlines() if 'echo "==> ' in line]
    said = " | ".join(steps)
    for step in ("Installing", "translations", "Checking", "database", "demo", "Serving"):
        assert step in said, said
    assert "flask --app portal doctor" in out
    # pip, pybabel and alembic speak only when something goes wrong.
    assert "pip install --quiet" in out
    assert "quiet .venv/bin/flask --app portal db upgrade" in out


def test_make_run_serves_localhost_unless_told_the_network():
    assert "run --host 127.0.0.1 --port 5000" in make_dry_run()
    out = make_dry_run("HOST=0.0.0.0", "PORT=5050")
    assert "run --host 0.0.0.0 --port 5050" in out
    assert "on a phone" in out
