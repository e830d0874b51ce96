"""The ``python -m core templates check FILE`` contract, run as a real subprocess.

FILE:LINE: message lines on stderr and exit 2, or exit 0 silently; every hostile template answers within
5 s, the command and its worker together under 256 MB.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.communication.catalog import catalog
from tests.core.hostile_templates import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>[1-9]\d*): (?P<message>\S.*)$")


def check(path: Path | str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "templates", "check", str(path), *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def _tree_rss(pid: int) -> int:
    """Peak resident memory (VmHWM) of `pid` plus all its descendants, in bytes (0 once gone)."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_rss(int(child))
    except (OSError, StopIteration):
        pass
    return total


def check_measured(path: Path) -> tuple[int, str, str, float, int]:
    """Run the command; (exit code, stdout, stderr, seconds, peak bytes of the command plus its worker).

    The peak is the sampled sum of each process's own high-water mark (VmHWM, which starts afresh at
    exec). wait4's ru_maxrss is no use here: Linux carries the forking parent's resident size into
    it, so after a few hundred tests it reports the size of pytest itself.
    """
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "core", "templates", "check", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while True:
        done, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if done:
            break
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, out, err, elapsed, peak


@pytest.mark.slow  # one `templates check` process per payload of the corpus
def test_every_hostile_template_is_refused_in_5_s_and_256_mb(tmp_path):
    assert len(HOSTILE) >= 60
    blocked, slowest, heaviest = 0, 0.0, 0
    for number, payload in enumerate(HOSTILE):
        path = tmp_path / f"hostile_{number}.txt.j2"
        path.write_text(payload, encoding="utf-8")
        code, out, err, elapsed, peak = check_measured(path)
        lines = err.splitlines()
        assert (code, out) == (2, ""), (payload[:80], code, err)
        assert lines and all(PROBLEM_LINE.match(line) and line.startswith(f"{path}:") for line in lines), err
        assert elapsed < 5.0, (payload[:80], elapsed)
        assert peak < 256 * 1024 * 1024, (payload[:80], peak)
        blocked += 1
        slowest, heaviest = max(slowest, elapsed), max(heaviest, peak)
    print(f"hostile templates: {len(HOSTILE)} checked, {blocked} blocked by `templates check`; "
          f"slowest {slowest:.2f} s, peak memory {heaviest / 2**20:.0f} MB")
    assert blocked == len(HOSTILE)


@pytest.mark.parametrize(
    "name, source, options, expected",
    [
        ("ok.txt.j2", "Hello {{ greeting }},\n\n{{ current_status }}\n", [], []),
        ("fields.txt.j2", "Hello {{ greeting }}\n\n{{ titel }}\n", [],
         [":3: 'titel' is not a message field (did you mean 'title'?)"]),
        ("internal.txt.j2", "Hello\n{{ annual_contract_value }}\n", [],
         [":2: 'annual_contract_value' is internal information and cannot be used in a message to the client"]),
        ("internal.txt.j2", "Hello\n{{ annual_contract_value }}\n", ["--audience", "internal"], []),
        ("syntax.txt.j2", "Hello\n\n{% if workaround %}\n{{ workaround }}\n", [],
         [":4: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or "
          "'endif'. The innermost block that needs to be closed is 'if'."]),
        ("safe.html.j2", "<p>{{ title|safe }}</p>\n", [], [":1: No filter named 'safe'."]),
        ("two.html.j2", "<p>{{ titel }}</p>\n<p>{{ nope }}</p>\n", [],
         [":1: 'titel' is not a message field (did you mean 'title'?)", ":2: 'nope' is not a message field"]),
        ("page.html", "<p>{{ title }}</p>", [], []),
        ("script.html.j2", "<p>{{ title }}</p>", ["--channel", "phone"],
         [":1: a phone script has only a plain-text part: check a .txt.j2 file with --channel phone"]),
        ("script.txt.j2", "Call {{ contact_name }} about {{ title }}.", ["--channel", "phone"], []),
        ("empty.txt.j2", "  \n", [], [":1: the file is empty: write the plain-text part"]),
        ("slow.txt.j2", "{% set row = [1] * 5000 %}{{ ([row] * 5000)|sum(start=[])|length }}", [],
         [":1: this template took more than 2 s to render: make its loops and repeated values smaller"]),
        ("big.txt.j2", "{% set big = (('x' * 20000,) * 5000,) * 5000 %}{{ big|string }}", [],
         [":1: this template needed more than 64 MB to render: make the values it builds smaller"]),
    ],
)
@pytest.mark.slow  # starts `python -m core templates check` as a subprocess
def test_check_prints_file_line_problem_or_nothing(tmp_path, name, source, options, expected):
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    done = check(path, *options)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"{path}{line}" for line in expected]
    assert done.returncode == (2 if expected else 0)


@pytest.mark.slow  # starts `python -m core templates check` as a subprocess
def test_a_missing_or_unreadable_file_is_a_problem_too(tmp_path):
    done = check(tmp_path / "missing.txt.j2")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{tmp_path / 'missing.txt.j2'}:1: cannot read the file: No such file or directory\n"
    latin = tmp_path / "latin.txt.j2"
    latin.write_bytes("Caf\xe9 {{ title }}".encode("latin-1"))
    assert check(latin).stderr == f"{latin}:1: the file is not UTF-8 text; save it as UTF-8\n"


@pytest.mark.parametrize("options", [["--audience", "everyone"], ["--channel", "fax"], []])
@pytest.mark.slow  # starts `python -m core templates check` as a subprocess
def test_bad_arguments_exit_2_with_usage(options):
    done = subprocess.run([sys.executable, "-m", "core", "templates", "check", *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert "usage: python -m core templates check" in done.stderr


@pytest.mark.parametrize("spec", [s for s in catalog() if s.key in
                                  ("status_update", "phone_script", "internal_escalation_handoff")],
                         ids=lambda s: s.key)
@pytest.mark.slow  # starts `python -m core templates check` as a subprocess
def test_the_shipped_templates_pass(spec):
    channel = "phone" if spec.channel == "phone" else "email"
    for name in filter(None, (spec.text_file, spec.html_file)):
        done = check(ROOT / "templates" / name, "--audience", spec.audience, "--channel", channel)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), name


def test_the_readme_documents_the_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m core templates check FILE [--audience client|internal] [--channel email|phone]" in readme
