"""`promoter completion`: a shell completion script for bash, zsh or fish, made from the command
line's own parsers (every command, option and `-o` format as `promoter help` lists them); the
names of the config (components, environments, targets) are asked of `promoter completion
--names KIND -- WORDS...` when a completion needs them, read from the promotion.yaml the command
line being completed names (-C/--repo, --config), else the working directory's."""

from __future__ import annotations

from promoter.errors import PromoterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Print the completion script for SHELL: commands, their options and formats, and the\n"
    "components, environments and targets of the promotion.yaml being worked on (read when a\n"
    "completion needs them). Load it in the shell's startup file, or save it where the shell\n"
    "looks for completions."
)
EXAMPLES = (
    "promoter completion bash > ~/.local/share/bash-completion/completions/promoter",
    "promoter completion zsh > ~/.promoter.zsh   # ~/.zshrc, after compinit: source ~/.promoter.zsh",
    "promoter completion fish > ~/.config/fish/completions/promoter.fish",
)
CODES = ("0    the script printed", "2    an unknown SHELL")
OFFLINE = None
GLOBALS = False  # -C/--config of the line being completed are read from its words, not given here

SHELLS = ("bash", "zsh", "fish")
KINDS = ("components", "environments", "targets")


def arguments(p: Any) -> None:
    import argparse

    p.add_argument("shell", nargs="?", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    # what the scripts call back: the names of the config one a line (nothing on any error)
    p.add_argument(
        "--names",
        nargs=argparse.REMAINDER,
        metavar="KIND [WORD]",
        help="what the scripts ask: the components, environments or targets of the config, one a line, for the "
        "command line WORDs being completed (their -C, --config and component names) (default: the script)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.commands._common import out
    from promoter.errors import UsageError

    if args.names is not None:
        kind, *words = args.names or [""]
        if kind not in KINDS:
            raise UsageError(f"--names takes {', '.join(KINDS)}, not '{kind}'")
        out("".join(f"{n}\n" for n in config_names(kind, words)))
        return 0
    if args.shell is None:
        raise UsageError("completion takes the shell: bash, zsh or fish (see 'promoter completion --help')")
    out(script(args.shell))
    return 0


# -- the names of the config ----------------------------------------------------------------------


def _given(words: list[str]) -> tuple[str | None, str | None, list[str]]:
    """-C/--repo and --config of the words of a command line, and the other words."""
    found: dict[str, str] = {}
    rest: list[str] = []
    each = iter(words)
    for w in each:
        name, eq, value = w.partition("=")
        if w in ("-C", "--repo", "--config"):
            found[w] = next(each, "")
        elif eq and name in ("--repo", "--config"):
            found[name] = value
        elif w.startswith("-C") and len(w) > 2:
            found["-C"] = w[2:]
        else:
            rest.append(w)
    return found.get("--repo") or found.get("-C"), found.get("--config"), rest


def config_names(kind: str, words: list[str]) -> list[str]:
    """The components, environments or targets of the config the command line `words` works on
    (environments and targets of the components the line names, when it names any); none when
    the config cannot be read: a completion says nothing rather than an error."""
    from pathlib import Path

    repo, config, rest = _given(words)
    try:
        from promoter.pipeline.core import open_repo

        opened = open_repo(Path(repo).expanduser() if repo else None, Path(config).expanduser() if config else None)
    except (PromoterError, OSError, ValueError):
        return []
    comps = opened.config.components
    if kind == "components":
        return list(comps)
    named = [comps[w] for w in rest if w in comps] or list(comps.values())
    if kind == "targets":
        return list(dict.fromkeys(t.name for c in named for t in c.targets))
    return list(dict.fromkeys(t.environment for c in named for t in c.targets))


# -- the scripts -----------------------------------------------------------------------------------

_FILES = {"repo": "dirs", "config": "files", "out": "files", "markdown": "files", "dir": "dirs"}
_NAMES = {"component": "components", "components": "components", "env": "environments", "target": "targets"}


def _what(action: argparse.Action, command: str) -> str:
    """What an argument's value completes to: a kind of names, files, dirs, commands, a list of
    words ("words:a b"), or nothing ("")."""
    if command == "help" and action.dest == "topic":
        return "commands"
    if action.choices is not None and action.dest != "command":
        return "words:" + " ".join(map(str, action.choices))
    return _NAMES.get(action.dest) or _FILES.get(action.dest, "")


def _spec() -> list[tuple[str, str, list[tuple[list[str], str, str]], str]]:
    """Every command: (name, summary, its options as (option strings, what their value completes
    to or "" for a flag or a value of no kind, help), what its first positional completes to)."""
    from promoter import commands
    from promoter.cli import build_parser, commands_of

    out = []
    for name, parser in commands_of(build_parser()).items():
        options: list[tuple[list[str], str, str]] = []
        positional = ""
        for action in parser._actions:
            if action.help == "==SUPPRESS==":
                continue
            if action.option_strings:
                takes = action.nargs != 0
                what = _what(action, name) if takes else ""
                options.append((list(action.option_strings), what if takes else "-", (action.help or "")))
            elif not positional:
                positional = _what(action, name)
        out.append((name, commands.NAMES[name][1], options, positional))
    return out


def _words(what: str) -> str:
    return what.removeprefix("words:")


def script(shell: str) -> str:
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](_spec())


def _bash_reply(what: str) -> str:
    if what in KINDS:
        return f"_promoter_names {what}"
    if what == "files":
        return 'COMPREPLY=($(compgen -f -- "$cur"))'
    if what == "dirs":
        return 'COMPREPLY=($(compgen -d -- "$cur"))'
    if what == "commands":
        return 'COMPREPLY=($(compgen -W "$_promoter_commands" -- "$cur"))'
    if what.startswith("words:"):
        return f'COMPREPLY=($(compgen -W "{_words(what)}" -- "$cur"))'
    return "COMPREPLY=()"


def _bash(spec: list[tuple[str, str, list[tuple[list[str], str, str]], str]]) -> str:
    names = " ".join(name for name, *_ in spec)
    lines = [
        "# promoter's bash completion (made by `promoter completion bash`): source it from ~/.bashrc,",
        "# or save it as ~/.local/share/bash-completion/completions/promoter",
        f'_promoter_commands="{names}"',
        "_promoter_names() {",
        "    local IFS=$'\\n'",
        '    COMPREPLY=($(compgen -W "$(command promoter completion --names "$1" "${COMP_WORDS[@]:1}" '
        '2>/dev/null)" -- "$cur"))',
        "}",
        "_promoter() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i',
        '    [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        "            -C|--repo|--config) ((i++)) ;;",
        "            -*) ;;",
        '            *) cmd="${COMP_WORDS[i]}"; break ;;',
        "        esac",
        "    done",
        '    case "$prev" in',
        f"        -C|--repo) {_bash_reply('dirs')}; return ;;",
        f"        --config) {_bash_reply('files')}; return ;;",
        "    esac",
        '    if [ -z "$cmd" ]; then',
        '        if [[ "$cur" == -* ]]; then',
        '            COMPREPLY=($(compgen -W "--version --help -C --repo --config --offline -v --verbose" -- "$cur"))',
        "        else",
        '            COMPREPLY=($(compgen -W "$_promoter_commands" -- "$cur"))',
        "        fi",
        "        return",
        "    fi",
        '    case "$cmd" in',
    ]
    for name, _, options, positional in spec:
        flags = " ".join(o for strings, _, _ in options for o in strings)
        lines.append(f"        {name})")
        valued = [(strings, what) for strings, what, _ in options if what != "-"]
        if valued:
            lines.append('            case "$prev" in')
            for strings, what in valued:
                lines.append(f"                {'|'.join(strings)}) {_bash_reply(what)}; return ;;")
            lines.append("            esac")
        lines.append('            if [[ "$cur" == -* ]]; then')
        lines.append(f'                COMPREPLY=($(compgen -W "{flags}" -- "$cur"))')
        lines.append("            else")
        lines.append(f"                {_bash_reply(positional)}")
        lines.append("            fi")
        lines.append("            ;;")
    lines += ["    esac", "}", "complete -F _promoter promoter", ""]
    return "\n".join(lines)


def _zsh(spec: list[tuple[str, str, list[tuple[list[str], str, str]], str]]) -> str:
    """zsh runs the bash script through its bashcompinit (zsh's own emulation of bash's
    `complete`/`compgen`): one definition of what completes to what."""
    head = [
        "# promoter's zsh completion (made by `promoter completion zsh`): source it from ~/.zshrc",
        "# after compinit, e.g. `source <(promoter completion zsh)`",
        "autoload -U +X bashcompinit && bashcompinit",
    ]
    return "\n".join(head) + "\n" + _bash(spec)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_values(what: str, commands: str = "") -> str:
    if what in KINDS:
        return f"-f -a '(promoter completion --names {what} (commandline -opc)[2..-1] 2>/dev/null)'"
    if what == "files":
        return "-F"
    if what == "dirs":
        return "-f -a '(__fish_complete_directories)'"
    if what == "commands":
        return "-f -a " + _fish_quote(commands)
    if what.startswith("words:"):
        return "-f -a " + _fish_quote(_words(what))
    return "-f"


def _fish(spec: list[tuple[str, str, list[tuple[list[str], str, str]], str]]) -> str:
    import re

    names = " ".join(name for name, *_ in spec)
    lines = [
        "# promoter's fish completion (made by `promoter completion fish`): save it as",
        "# ~/.config/fish/completions/promoter.fish",
        "complete -c promoter -f",
        f"complete -c promoter -n 'not __fish_seen_subcommand_from {names}' -l version -d 'show the version'",
        f"complete -c promoter -n 'not __fish_seen_subcommand_from {names}' -s C -l repo -r "
        f"{_fish_values('dirs')} -d 'the config repository'",
        f"complete -c promoter -n 'not __fish_seen_subcommand_from {names}' -l config -r -F -d 'the config file'",
    ]
    for name, summary, options, positional in spec:
        lines.append(f"complete -c promoter -n '__fish_use_subcommand' -a {name} -d {_fish_quote(summary)}")
        seen = f"-n '__fish_seen_subcommand_from {name}'"
        if positional:
            lines.append(f"complete -c promoter {seen} {_fish_values(positional, names)}")
        for strings, what, helped in options:
            flags = []
            for o in strings:
                flags.append(f"-l {o[2:]}" if o.startswith("--") else f"-s {o[1:]}")
            value = "" if what == "-" else " -r " + _fish_values(what, names)
            said = re.sub(r"\s*\((?:[^()]|\([^()]*\))*\)$", "", helped)  # its "(default: ...)" left out
            lines.append(f"complete -c promoter {seen} {' '.join(flags)}{value} -d {_fish_quote(said[:80])}")
    return "\n".join(lines) + "\n"
