"""``tryon looks``: list the built-in looks, ``show`` one as YAML, ``check`` look files."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from tryon.cli.common import EXIT_OK, error, exit_code
from tryon.errors import LookError
from tryon.looks import Look, builtin_looks
from tryon.looks.loader import read_look_file

__all__ = ["register", "run"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "looks",
        parents=[common],
        help="list, show or check looks",
        description="Without an action: list the built-in looks.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", parents=[common], help="list the built-in looks (the default)")
    show = actions.add_parser("show", parents=[common], help="print a look as YAML")
    show.add_argument("look", metavar="NAME|FILE", help="a built-in look or a look file")
    show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="apply an override first, e.g. lipstick.sku=TRY-LIP-003 (repeatable)",
    )
    check = actions.add_parser("check", parents=[common], help="validate look files")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="a .yaml, .yml or .json look file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "show":
        look = Look.load(args.look, overrides=args.overrides)
        print(yaml.safe_dump(look.as_dict(), sort_keys=False, allow_unicode=True, width=120), end="")
        return EXIT_OK
    if args.action == "check":
        return _check(args.files)
    looks = {name: Look.from_dict(read_look_file(path), str(path)) for name, path in builtin_looks().items()}
    width = max(map(len, looks), default=0)
    for name, look in looks.items():
        print(f"{name.ljust(width)}  {look.description}")
    return EXIT_OK


def _check(files: list[Path]) -> int:
    done = failed = 0
    for path in files:
        try:
            look = Look.load(path)
        except LookError as exc:
            failed += 1
            error(exc)
            continue
        done += 1
        names = ", ".join(e.name for e in look.effects) or "no effects"
        faces = f"; own looks for faces {', '.join(map(str, look.faces))}" if look.faces else ""
        print(f"{path}: ok ({look.name}: {names}{faces})")
    return exit_code(done, failed)
