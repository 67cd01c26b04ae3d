"""The commands, one module each: its parser (`arguments`, with its help texts), its run (`run`:
arguments in, the library called, the result rendered) and nothing else. `promoter.cli` lists them
(`NAMES`) and imports only the one a run needs; shared pieces are in `_common`.

A command module defines:
    DESCRIPTION, EXAMPLES, CODES   its help page: what it does, two or three examples, its exit codes
    OFFLINE                        the help of its --offline (None: it offers none)
    REPO, SHORT, GLOBALS           whether it takes -C/--repo and --config (default True), -C alone
                                   (default False), the global options at all (default True)
    LAST_CODES                     the exit codes every command ends with, unless it says otherwise
    arguments(parser)              its own arguments
    run(args) -> int               its exit code
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

# name -> (module, one-line summary): the overview lists them in this order
NAMES = {
    "status": ("status", "where every environment of the components stands"),
    "plan": ("plan", "show what a promotion would change; writes nothing"),
    "promote": ("promote", "apply a promotion: write the files (and commit, push, open the merge request)"),
    "changelog": ("changelog", "the commits a promotion brings, and their authors"),
    "discover": ("discover", "find pins of the components that no target covers"),
    "check": ("check", "lint the config repository (for CI and pre-commit)"),
    "history": ("history", "every change of a component's pins in the config repository's history"),
    "hold": ("hold", "hold environments of a component: nothing promotes them until released"),
    "release": ("release", "release a component's holds"),
    "rollback": ("rollback", "promote environments back to what they ran before (or to --to REV) and hold them"),
    "init": ("init", "write a first promotion.yaml for a component, with a target for each pin found"),
    "demo": ("demo", "build a self-contained example and walk the promotion SOP on it"),
    "help": ("help", "show a command's help (or this overview)"),
    "reconcile": ("reconcile", "keep every environment promoted under its policy: the loop a scheduled CI job runs"),
    "completion": ("completion", "print the shell completion script for bash, zsh or fish"),
}


def load(name: str) -> ModuleType:
    """The module of command `name` (imported on first use)."""
    module: ModuleType = __import__(f"promoter.commands.{NAMES[name][0]}", fromlist=["run"])
    return module
