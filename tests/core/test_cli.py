"""The ``python -m core`` contract, exercised as a real subprocess."""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import __main__ as cli
from tests.hostile_policies import HOSTILE_POLICIES

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the tests read the exit code themselves
    )


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_policies_lists_presets_one_per_line():
    done = run("policies")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "crisis\ndefault\ngrowth-engine\nred-status\nspark\nteamflow\n",
        "",
    )


def test_triage_prints_the_json_contract(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"complete_outage": True, "outage_minutes": 90, "customer": "Acme"}))
    done = run("triage", "--policy", "red-status", "--at", "2025-03-03T10:00:00+01:00", "--answers", str(answers))
    assert (done.returncode, done.stderr) == (0, "")
    result = json.loads(done.stdout)
    assert list(result) == [
        "policy", "severity", "red_status", "escalation_category", "escalation_level", "reasons", "deadlines",
    ]
    assert {key: value for key, value in result.items() if key != "reasons"} == {
        "policy": "red-status",
        "severity": "P0",
        "red_status": True,
        "escalation_category": "immediate",
        "escalation_level": "L3",
        "deadlines": {
            "acknowledge": "2025-03-03T09:15:00+00:00",
            "client_notification": "2025-03-03T09:30:00+00:00",
            "mobilization": "2025-03-03T09:45:00+00:00",
            "client_update": "2025-03-03T09:30:00+00:00",
            "resolution": "2025-03-03T11:00:00+00:00",
            "escalation": "2025-03-03T10:00:00+00:00",
        },
    }
    assert [(r["rule_id"], r["section"]) for r in result["reasons"]] == [
        ("complete-outage-over-1h", "Trigger Conditions › Emergency Escalation Triggers"),
        ("critical-technical-failure", "Trigger Conditions › Critical Red Status Indicators"),
        ("severity-p0", "Trigger Conditions › Emergency Escalation Triggers"),
    ]
    assert all(set(r) == {"text", "section", "rule_id", "outcome"} and r["text"] for r in result["reasons"])


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_triage_reads_answers_from_stdin_and_takes_naive_time_as_utc():
    done = run("triage", "--policy", "spark", "--at", "2025-03-03T09:00", "--answers", "-",
               stdin='{"feature_request": true}')
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["severity"], result["deadlines"]) == (
        "P3",
        {"acknowledge": "2025-03-05T09:00:00+00:00", "resolution": "2025-06-01T09:00:00+00:00"},
    )


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_triage_without_answers_or_time_uses_defaults():
    done = run("triage", "--policy", "teamflow")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["severity"], result["escalation_level"], list(result["deadlines"])) == ("P3", "L1", ["acknowledge"])


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_triage_with_a_custom_policy_file(tmp_path):
    custom = tmp_path / "ours.yaml"
    custom.write_text(
        (ROOT / "core/policy/presets/crisis.yaml").read_text().replace("name: crisis", "name: ours").replace(
            "source: crisis-management-workflow.md", "source: custom"
        )
    )
    done = run("triage", "--policy", str(custom), "--at", "2025-03-03T09:00Z", "--answers", "-",
               stdin='{"payment_failure": true}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["policy"] == "ours"


@pytest.mark.parametrize(
    "args, stdin, fragments",
    [
        (["--policy", "spark", "--answers", "-"], '{"colour": "red"}',
         ["unknown field 'colour'", "allowed fields: customer, customer_tier"]),
        (["--policy", "spark", "--answers", "-"], '{"business_impact": "stoped"}',
         ["field 'business_impact'", "'stopped', 'major', 'minor' or 'none'"]),
        (["--policy", "spark", "--answers", "-"], '{"csat": 11}',
         ["field 'csat'", "a number from 0 to 10"]),
        (["--policy", "spark", "--answers", "-"], "{not json",
         ["answers: not valid JSON"]),
        (["--policy", "gold"], None,
         ["unknown policy 'gold'", "crisis, default, growth-engine, red-status, spark, teamflow"]),
        (["--policy", "spark", "--at", "last tuesday"], None,
         ["invalid --at 'last tuesday'", "ISO-8601"]),
        (["--policy", "/nonexistent/policy.yaml"], None,
         ["policy.yaml:1: (file): cannot read policy file"]),
    ],
)
@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_bad_input_exits_2_and_says_why(args, stdin, fragments):
    done = run("triage", *args, stdin=stdin)
    assert (done.returncode, done.stdout) == (2, "")
    assert [f for f in fragments if f not in done.stderr] == [], done.stderr


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_no_command_prints_help_and_exits_2():
    done = run()
    assert done.returncode == 2
    assert "policies" in done.stderr and "triage" in done.stderr


def _command_paths(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Every command a person can type after `python -m core`, sub-commands spelled out ('users add')."""
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix}{name}"
                below = _command_paths(sub, f"{path} ")
                # A command with sub-commands of its own ('policies' lists, 'policies check' checks) counts too
                # when it runs by itself.
                paths += below if below and sub.get_default("func") is None else [path, *below]
    return paths


def test_the_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = _command_paths(cli.build_parser())
    assert {"policies", "policies check", "triage", "replay", "init", "users add", "templates check",
            "demo-logins"} <= set(paths)
    undocumented = [path for path in paths if f"python -m core {path}" not in readme]
    assert not undocumented, f"document these in README.md as `python -m core COMMAND ...`: {undocumented}"


def test_extra_commands_plug_into_the_parser(monkeypatch, capsys):
    def register(subparsers):
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)

    monkeypatch.setattr(cli, "EXTRA_COMMANDS", [("hello", register)])
    assert cli.main(["hello", "--name", "desk"]) == 0
    assert capsys.readouterr().out == "hello desk\n"
    assert cli.main(["policies"]) == 0


# --------------------------------------------------------------------------
# policies check FILE


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_policies_check_prints_the_name_of_a_valid_policy(tmp_path):
    path = tmp_path / "ours.yaml"
    path.write_text((ROOT / "core/policy/presets/spark.yaml").read_text().replace("name: spark", "name: ours"))
    done = run("policies", "check", str(path))
    assert (done.returncode, done.stdout, done.stderr) == (0, "ours\n", "")


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_policies_check_lists_each_problem_with_file_line_and_path(tmp_path):
    text = (ROOT / "core/policy/presets/spark.yaml").read_text()
    broken = text.replace("acknowledge: ", "acknowledge: soon # ", 1)
    broken = broken.replace("severities:", "colour: red\nseverities:", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    done = run("policies", "check", str(path))
    assert (done.returncode, done.stdout) == (2, "")
    colour_line = broken.splitlines().index("colour: red") + 1
    assert done.stderr.splitlines() == [
        f"{path}:{colour_line}: colour: unknown key 'colour'; allowed keys: name, title, source, description, "
        "severities, default, targets, calendars, pausable_clocks, escalate_on_breach, rules, escalation_levels, "
        "directory, roles, phases, schedules, reviews, objectives, early_warning, alerts",
    ]


@pytest.mark.slow  # starts `python -m core` as a subprocess
def test_policies_check_without_a_file_is_a_usage_error():
    done = run("policies", "check")
    assert done.returncode == 2 and "FILE" in done.stderr and done.stdout == ""


PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<path>\S+): (?P<what>\S.*)$")


@pytest.mark.slow  # one subprocess per hostile policy file
def test_hostile_policy_files_are_refused_fast_without_a_traceback(tmp_path):
    timings = {}
    for name, (data, fragment) in HOSTILE_POLICIES.items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(data)
        started = time.perf_counter()
        done = run("policies", "check", str(path))
        timings[name] = time.perf_counter() - started
        lines = done.stderr.splitlines()
        assert (done.returncode, done.stdout) == (2, ""), name
        assert "Traceback" not in done.stderr and lines, name
        assert all((m := PROBLEM_LINE.match(line)) and m["file"] == str(path) for line in lines), done.stderr
        assert fragment in done.stderr, done.stderr
    slowest = max(timings, key=timings.get)
    print(f"hostile policy files: {len(timings)} checked by the CLI, {len(timings)} refused with exit 2; "
          f"slowest {slowest} in {timings[slowest]:.2f} s")
    assert len(timings) >= 5
    assert timings[slowest] < 2.0, timings
