"""The `gapbench` command: every Snakemake rule calls one of its subcommands.

Each area of the package registers its own subcommands (``register(subparsers)`` in its ``cli`` module);
those modules import only argparse at start-up and defer heavy imports (Dedalus, torch, PyG) to the
handler, so ``gapbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gapbench import __version__

# Modules that add subcommands. Order is the order of `gapbench --help`.
AREAS = (
    "gapbench.config",
    "gapbench.pde.cli",
    "gapbench.graphs.cli",
    "gapbench.data_cli",
    "gapbench.train.cli",
    "gapbench.tables.cli",
)


class Parser(argparse.ArgumentParser):
    """argparse with errors on one line (``gapbench CMD: error: WHAT``, status 2) instead of usage + error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gapbench",
        description="Edge vs node GNNs and memory in PDE surrogates: data, training, tables.",
    )
    parser.add_argument("--version", action="version", version=f"gapbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in AREAS:
        importlib.import_module(name).register(sub)
    for leaf in _leaf_parsers(parser):
        if not any("--no-progress" in a.option_strings for a in leaf._actions):
            leaf.add_argument("--no-progress", action="store_true",
                              help="no progress bars (log files get no carriage-return lines)")
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser):
    """Every parser under ``parser`` that runs a command (has no subcommands of its own)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
            yield from _leaf_parsers(child)


def main(argv: list[str] | None = None) -> int:
    from gapbench.errors import GapbenchError
    from gapbench.registry import load_plugins

    try:  # the modules named in GAPBENCH_PLUGINS register their kinds before the parser lists them (a dataset
          # kind or an equation adds subcommands)
        load_plugins()
    except GapbenchError as err:
        print(f"gapbench: error: {err}", file=sys.stderr)
        return 2
    parser = build_parser()
    _register_each(parser)
    return _run(parser, sys.argv[1:] if argv is None else list(argv))


def _run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse ``argv`` and run its subcommand (:func:`_handle`)."""
    args = parser.parse_args(argv)
    if args.command == EACH:
        return _each(parser, args)
    return _handle(args)


def _handle(args: argparse.Namespace) -> int:
    """Run a parsed subcommand's handler; a GapbenchError or OSError is one line and status 2."""
    from gapbench.errors import GapbenchError

    if args.no_progress:  # every command accepts it; progress bars read GAPBENCH_PROGRESS
        os.environ["GAPBENCH_PROGRESS"] = "0"
    try:
        return int(args.handler(args) or 0)
    except GapbenchError as err:
        print(f"gapbench {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that cannot be read or written: name it, no traceback
        where = f"{err.filename}: " if err.filename else ""
        print(f"gapbench {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


EACH = "each"
SEPARATOR = "--"


def _register_each(parser: argparse.ArgumentParser) -> None:
    """``gapbench each -- CMD ARGS -- CMD ARGS ...``: several subcommands, one after the other, in this process."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser(EACH, help="run several gapbench commands one after the other in one process",
                       description="Run several gapbench commands, separated by --, one after the other in this "
                                   "process, so they pay the Python and torch start-up once (a Snakemake job that "
                                   "makes several outputs of one stage); stops at the first that fails, with its "
                                   "status. Example: gapbench each -- pde observe ... -- pde observe ...")
    p.add_argument("commands", nargs=argparse.REMAINDER, help="-- CMD ARGS, repeated")
    p.add_argument("--no-progress", action="store_true", help="no progress bars in any of the commands")


def _each(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Parse every command of ``gapbench each`` first (a bad one fails the job before any runs), then run them in
    order; stop at the first that fails."""
    commands, current = [], None
    for word in args.commands:
        if word == SEPARATOR:
            current = []
            commands.append(current)
        elif current is None:
            parser.error(f"each: expected {SEPARATOR} before the first command, got {word!r}")
        else:
            current.append(word)
    if not commands or not all(commands) or any(c[0] == EACH for c in commands):
        parser.error(f"each: give one or more commands, each after {SEPARATOR} (not empty, not each)")
    parsed = [parser.parse_args(argv + (["--no-progress"] if args.no_progress else [])) for argv in commands]
    for i, (argv, one) in enumerate(zip(commands, parsed), 1):
        print(f"gapbench each [{i}/{len(commands)}]: {' '.join(argv)}", flush=True)
        status = _handle(one)
        if status:
            print(f"gapbench each: command {i} of {len(commands)} failed (status {status}): {' '.join(argv)}",
                  file=sys.stderr)
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
