"""The ``qpolicy`` command's basics: --version, --help, unknown commands (in-process and as the
installed console script)."""
import shutil
import subprocess
import sys

import pytest

import qpolicy
from qpolicy import cli


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"qpolicy {qpolicy.__version__}"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: qpolicy" in out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_no_arguments_prints_help_and_succeeds(capsys):
    assert cli.main([]) == 0
    assert "usage: qpolicy" in capsys.readouterr().out


def test_unknown_command_fails(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_subcommand_module_provides_the_interface():
    import importlib
    for name, (module_name, help_text) in cli.SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run), name
        assert help_text, name


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "qpolicy", "--version"],
    pytest.param(["qpolicy", "--version"], marks=pytest.mark.skipif(
        shutil.which("qpolicy") is None, reason="console script not on PATH")),
])
def test_version_as_a_process(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"qpolicy {qpolicy.__version__}"


def test_help_as_a_process():
    result = subprocess.run([sys.executable, "-m", "qpolicy", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: qpolicy" in result.stdout
