import subprocess
import sys

from rnnkit import __version__
from rnnkit.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert __version__ in capsys.readouterr().out


def test_env_lists_versions(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    for key in ("torch", "torch_threads", "compiled_kernels", "product_library"):
        assert key in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: rnnkit" in capsys.readouterr().out


def test_module_entry_point():
    cmd = [sys.executable, "-m", "rnnkit", "--help"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and "env" in done.stdout
