"""The command line a newcomer meets: a mistyped name gets the name it was probably meant to be,
and `--commit` says where the commit went."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.text import closest, did_you_mean
from tests import test_workflow
from tests.conftest import RunResult, git, make_repo
from tests.test_cli import FILES, NEW
from tests.test_workflow import HOUR, NOW, commit

world = test_workflow.world  # the fixture: two upstreams, a config repository, its remote

Run = Callable[..., RunResult]


def test_closest_prefers_case_then_a_unique_start_then_similarity() -> None:
    envs = ["integration", "production", "pipelines"]
    assert closest("Production", envs) == "production"
    assert closest("PROD", envs) == "production"  # the start of only one
    assert closest("p", envs) is None  # the start of two: no guess
    assert closest("integation", envs) == "integration"
    assert closest("staging", envs) is None
    assert did_you_mean("statsu", ["status", "plan"]) == " (did you mean 'status'?)"
    assert did_you_mean("status", ["status"]) == ""


ENV = "unknown environment"
MISTYPED = [
    (["statsu"], "unknown command 'statsu' (did you mean 'status'?)"),
    (["help", "pln"], "unknown command 'pln' (did you mean 'plan'?)"),
    (["status", "--evn", "production"], "unrecognized arguments: --evn (did you mean '--env'?)"),
    (["plan", "c", "--ofline"], "unrecognized arguments: --ofline (did you mean '--offline'?)"),
    (["status", "-o", "jsn"], "invalid choice: 'jsn' (did you mean 'json'?)"),
    (["status", "--offline", "--env", "Production"], f"{ENV} 'Production' (did you mean 'production'?)"),
    (["status", "--offline", "--env", "pipeline"], f"{ENV} 'pipeline' (did you mean 'pipelines'?)"),
    (["plan", "c", NEW, "--offline", "--env", "prodution"], f"c: {ENV} 'prodution' (did you mean 'production'?)"),
    (["plan", "c", NEW, "--offline", "--target", "Prod"], "c: unknown target 'Prod' (did you mean 'prod'?)"),
    (["promote", "c", NEW, "--offline", "--env", "PRODUCTION"], "(did you mean 'production'?)"),
    (["history", "c", "--offline", "--env", "pipelnes"], f"c: {ENV} 'pipelnes' (did you mean 'pipelines'?)"),
    (["hold", "c", "--env", "producton", "--reason", "x"], f"c: {ENV} 'producton' (did you mean 'production'?)"),
    (["release", "c", "--env", "Pipelines"], "(did you mean 'pipelines'?)"),
    (["rollback", "c", "--env", "prod", "--reason", "x", "--offline"], "(did you mean 'production'?)"),
    (["status", "C"], "unknown component 'C' (did you mean 'c'?)"),
    (["plan", "cc", NEW, "--offline"], "unknown component 'cc' (did you mean 'c'?)"),
]


@pytest.mark.parametrize(("argv", "said"), MISTYPED)
def test_a_mistyped_name_gets_the_one_it_was_meant_to_be(tmp_path: Path, run: Run, argv: list[str], said: str) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    code, out, err = run("-C", repo, *argv)
    assert code == 2, err
    assert said in err


def test_a_name_nothing_resembles_gets_the_list_only(tmp_path: Path, run: Run) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    code, _, err = run("-C", repo, "status", "--offline", "--env", "staging")
    assert code == 2
    assert "unknown environment 'staging'; valid: pipelines, production" in err
    code, _, err = run("-C", repo, "status", "--frobnicate")
    assert code == 2 and "unrecognized arguments: --frobnicate (see 'promoter status --help')" in err


def test_commit_says_which_branch_and_that_you_are_on_it(world, run: Run) -> None:  # type: ignore[no-untyped-def]
    repo, schemas, r = world["repo"], world["schemas"], world["r"]
    s3 = commit(schemas, "s3", NOW - 25 * HOUR)
    code, out, err = run("-C", repo, "promote", "schemas", "reconcile", "--yes", "--commit")
    assert code == 0, err
    first, last = f"promote/schemas-{s3[:7]}", f"promote/reconcile-{r[3][:7]}"
    lines = [line for line in out.splitlines() if line.startswith("committed ")]
    sha1, sha2 = git(repo, "rev-parse", first), git(repo, "rev-parse", last)
    # the second component started from the first branch again: only the last one is where you are
    assert lines == [
        f"committed {sha1[:12]} on {first}: promote schemas {world['s'][2][:7]} to {s3[:7]}",
        f"committed {sha2[:12]} on {last} (you are now on it): promote reconcile {r[1][:7]} to {r[3][:7]}",
    ]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == last


# ------------------------------------------------------------------------------------------ help
MINE = ["status", "plan", "promote", "changelog", "discover", "check", "history"]
MINE += ["hold", "release", "rollback", "demo", "help", "init", "reconcile", "completion"]
THEIRS = {("status", "out")}  # options the reconcile and status-html work added: theirs to word
NO_OFFLINE = {"changelog", "discover", "hold", "release", "demo", "help", "init", "completion"}


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    from promoter.cli import main

    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's --help
        code = int(exc.code or 0)
    out = capsys.readouterr().out
    assert code == 0, argv
    return out


def _section(text: str, title: str) -> list[str]:
    lines = text.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line for line in lines if line.strip()]


@pytest.mark.parametrize("command", MINE)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from promoter.cli import build_parser, commands_of

    text = _help(capsys, command, "--help")
    assert _help(capsys, "help", command) == text  # `promoter help CMD` is the same page
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 8 and not description.startswith(("positional", "options"))
    examples = _section(text, "examples")
    assert 2 <= len(examples) <= 3 and all(e.strip().startswith("promoter ") for e in examples)
    codes = [line.split()[0] for line in _section(text, "exit codes") if not line.startswith("       ")]
    assert codes[0] == "0" and "1" in codes and codes[-1] == "130"
    parser = commands_of(build_parser())[command]
    for action in parser._actions:
        if action.option_strings == ["-h", "--help"]:
            continue
        assert action.help, f"{command}: {action.dest} is not explained"
        takes_value = action.option_strings and action.nargs != 0 and not action.required
        takes_value = takes_value and (command, action.dest) not in THEIRS
        if takes_value:
            assert "default" in action.help, f"{command}: {action.option_strings[0]} does not give its default"
    offline = [a for a in parser._actions if "--offline" in a.option_strings]
    if command in NO_OFFLINE:
        assert not offline, f"{command} offers --offline, which means nothing to it"
    else:
        assert offline and offline[0].help and "upstream" in offline[0].help
    if command == "status":
        assert offline[0].help and "REV" not in offline[0].help
    assert text.count("--config FILE ") <= 1 and text.count("\n  -v, --verbose") <= 1  # shown once


def test_help_alone_is_the_overview_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "help")
    assert text == _help(capsys, "--help")
    assert "status " in text and "promoter help promote" in text and "exit codes:" in text


def test_a_run_makes_only_its_own_commands_parser() -> None:
    """The commands' parsers are made on first use (the run's own command, a help page, a
    did-you-mean), each as `build_parser` describes it: the same help as made at once."""
    from promoter.cli import _Command, build_parser, commands_of

    parser = build_parser()
    made = lambda: sorted(k for k, v in dict.items(commands_of(parser)) if not isinstance(v, _Command))  # noqa: E731
    assert made() == []
    args = parser.parse_args(["status", "--offline", "-o", "json"])
    assert (args.command, args.offline, args.output) == ("status", True, "json")
    assert made() == ["status"]
    assert "--detailed-exitcode" in commands_of(parser)["plan"].format_help()
    assert made() == ["plan", "status"]
    assert len(commands_of(parser).values()) == len(made()) == 15  # asking for all makes all


def test_help_and_version_stay_light() -> None:
    """--help, `help CMD` and --version import no YAML, no pipeline and no did-you-mean machinery."""
    code = (
        "import sys\n"
        "from promoter.cli import main\n"
        "for argv in (['--help'], ['help', 'promote'], ['status', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "mods = [m for m in sys.modules if m.startswith('promoter')]\n"
        "print(sorted(mods), 'yaml' in sys.modules, 'difflib' in sys.modules, 'typing' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the command line, the errors, and only the modules of the commands asked for (promote's help
    # takes plan's words for --offline)
    commands = ["promoter.commands", "promoter.commands._common"]
    commands += [f"promoter.commands.{c}" for c in ("help", "plan", "promote", "status")]
    expected = sorted(["promoter", "promoter.cli", "promoter.errors", *commands])
    assert proc.stdout.splitlines()[-1] == f"{expected} False False False"


@pytest.mark.parametrize("columns", ["60", "80", "132"])
def test_exit_codes_flow_at_every_width(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A meaning written over two lines in the source flows again at the terminal's width: no run of
    spaces inside it, no line over the width."""
    from promoter.cli import build_parser, commands_of

    monkeypatch.setenv("COLUMNS", columns)
    for name, parser in commands_of(build_parser()).items():
        text = parser.format_help()
        codes = text.split("\nexit codes:\n", 1)[1]
        for line in codes.splitlines():
            assert "  " not in line[7:].strip(), f"{name} at {columns}: {line!r}"  # after "  3    "
            assert len(line) <= max(int(columns) - 2, 40), f"{name} at {columns}: {line!r}"
