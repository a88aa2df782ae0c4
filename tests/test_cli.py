"""``python -m core --help`` and ``python -m core <command> --help`` for every command whose module exists."""
from __future__ import annotations

import importlib.util

import pytest

from core.cli import COMMANDS

# build-demo is being written elsewhere and is tested with it
AVAILABLE = [name for name, (module, _) in COMMANDS.items()
             if name != "build-demo" and importlib.util.find_spec(module) is not None]


def test_top_level_help_lists_every_command(run_core):
    result = run_core("--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m core" in result.stdout
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", AVAILABLE)
def test_command_help(run_core, name):
    result = run_core(name, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m core {name}" in result.stdout
    assert COMMANDS[name][1] in " ".join(result.stdout.split())  # the one-line help is the description


def test_ingest_and_fetch_are_available():
    assert {"ingest", "fetch"} <= set(AVAILABLE)


def test_no_command_is_a_usage_error(run_core):
    result = run_core()
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_unknown_command_is_a_usage_error(run_core):
    result = run_core("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_ingest_requires_out(run_core):
    result = run_core("ingest", "somewhere")
    assert result.returncode == 2
    assert "--out" in result.stderr


def test_project_errors_are_one_line_not_a_traceback(real_data, run_core, tmp_path):
    """An XLEError (here: a catalog without a 'name' column for ingest) prints 'error: ...' and exits 1."""
    bad_catalog = tmp_path / "cat.csv"
    bad_catalog.write_text("id,class\nx,AGN\n")
    result = run_core("ingest", real_data / "spectra/obs1.pi", "--out", tmp_path / "ds", "--catalog", bad_catalog)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr and "'name' column" in result.stderr
    assert not (tmp_path / "ds").exists()
