"""``tryon models``: list the known models, ``pull`` (download), ``add`` (import offline), ``verify``, ``path``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from tryon.cli.common import EXIT_OK, error, exit_code, progress, table
from tryon.errors import ModelError
from tryon.models import ModelManager, ModelStatus
from tryon.models.download import Progress

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["register", "run"]

DESCRIPTION = """\
Models live in TRYON_MODELS_DIR, else in the user cache folder (~/.cache/tryon/models on Linux).
Nothing is downloaded unless you ask: 'tryon models pull NAME'. Offline, fetch the file elsewhere (the URL is in
'tryon models list --long') and import it with 'tryon models add FILE'; it is recognised by its checksum.
NAME is a model as 'tryon models list' shows it, or a --parser name (skin-clothes-hair: its model)."""

_SHOWN = {ModelStatus.OK: "installed", ModelStatus.MISSING: "missing", ModelStatus.CORRUPT: "corrupt"}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "models",
        parents=[common],
        help="list, pull, add or verify models",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="list the known models and their state (default)")
    listing.add_argument("-l", "--long", action="store_true", help="also show each model's file, URL and sha256")
    pull = actions.add_parser("pull", parents=[common], help="download models (resumable, checksum-verified)")
    pull.add_argument("names", nargs="*", metavar="NAME", help="a model name, as 'tryon models list' shows")
    pull.add_argument("--all", action="store_true", help="every known model")
    pull.add_argument("--force", action="store_true", help="download again even when installed and intact")
    add = actions.add_parser("add", parents=[common], help="import a model file downloaded by other means")
    add.add_argument("path", type=Path, metavar="FILE", help="the model file (recognised by its sha256)")
    add.add_argument("--name", metavar="NAME", help="the model it must be (checked against its sha256)")
    actions.add_parser("verify", parents=[common], help="hash every installed model again (non-zero exit if corrupt)")
    path = actions.add_parser("path", parents=[common], help="print the verified file of a model")
    path.add_argument("name", metavar="NAME")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manager = ModelManager()
    action = getattr(args, "action", None)
    if action == "pull":
        names = [model for name in args.names for model in _models_of(manager, name)]
        return _pull(manager, names, every=args.all, force=args.force)
    if action == "add":
        state = manager.add(args.path, None if args.name is None else _one_model(manager, args.name))
        print(f"{state.name}: added as {state.path}")
        return EXIT_OK
    if action == "verify":
        return _verify(manager)
    if action == "path":
        print(manager.path(_one_model(manager, args.name)))
        return EXIT_OK
    return _list(manager, long=bool(getattr(args, "long", False)))


def _models_of(manager: ModelManager, name: str) -> tuple[str, ...]:
    """The manifest models that ``name`` stands for: the model of that name, or those a ``--parser`` name runs.

    Raises:
        ModelError: for a name that is neither (listing both kinds), or a parser that runs no model.
    """
    from tryon.parsing.registry import PARSERS

    if name in manager.manifest:
        return (name,)
    parser = PARSERS.get(name)
    if parser is not None and parser.models:
        return parser.models
    if parser is not None:
        raise ModelError(f"parser {name!r} runs no model; nothing to fetch or find")
    aliases = ", ".join(n for n, p in PARSERS.items() if p.models)
    raise ModelError(
        f"unknown model {name!r}; known models: {', '.join(manager.manifest.names)}; or a parser name: {aliases}"
    )


def _one_model(manager: ModelManager, name: str) -> str:
    """The one manifest model that ``name`` stands for (see :func:`_models_of`)."""
    models = _models_of(manager, name)
    if len(models) > 1:
        raise ModelError(f"parser {name!r} runs {len(models)} models: {', '.join(models)}; name one of them")
    return models[0]


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def _list(manager: ModelManager, long: bool) -> int:
    rows = [["NAME", "SIZE", "LICENCE", "STATUS", "TASK"]]
    for entry in manager.manifest:
        status = _SHOWN[manager.state(entry.name).status]
        rows.append([entry.name, _size(entry.size), entry.licence, status, entry.task])
    print(table(rows, right={1}))
    if long:
        for entry in manager.manifest:
            print(f"\n{entry.name}: {entry.description}\n  file: {entry.file}\n  url: {entry.url}")
            print(f"  sha256: {entry.sha256}\n  source: {entry.source}")
    print(f"\nmodels folder: {manager.cache_dir} (set TRYON_MODELS_DIR to use another)")
    return EXIT_OK


def _pull(manager: ModelManager, names: list[str], every: bool, force: bool) -> int:
    if every:
        names = list(manager.manifest.names)
    if not names:
        raise ModelError(f"name the models to pull, or give --all; known models: {', '.join(manager.manifest.names)}")
    entries = [manager.manifest.get(name) for name in dict.fromkeys(names)]  # unknown names fail before any download
    done = failed = 0
    for entry in entries:
        if not force and manager.state(entry.name).status is ModelStatus.OK:
            print(f"{entry.name}: already installed at {manager.file(entry.name)}")
            done += 1
            continue
        with progress(total=entry.size, desc=entry.name, unit="B", unit_scale=True, unit_divisor=1024) as bar:
            try:
                path = manager.pull(entry.name, progress=_reporter(bar), force=force)
            except ModelError as exc:
                bar.close()
                error(exc)
                failed += 1
                continue
        print(f"{entry.name}: {path}")
        done += 1
    return exit_code(done, failed)


def _reporter(bar: tqdm[Any]) -> Progress:
    """A download progress callback moving ``bar`` (back to 0 when a download starts over)."""

    def report(got: int, total: Optional[int]) -> None:
        if total is not None and total != bar.total:
            bar.total = total
        bar.update(got - bar.n)

    return report


def _verify(manager: ModelManager) -> int:
    counts = dict.fromkeys(ModelStatus, 0)
    for state in manager.verify():
        counts[state.status] += 1
        if state.status is ModelStatus.CORRUPT:
            print(f"{state.name}: corrupt: {state.path} has sha256 {state.sha256}, expected {state.expected}")
        else:
            print(f"{state.name}: {state.status.value}")
    ok, missing, corrupt = counts[ModelStatus.OK], counts[ModelStatus.MISSING], counts[ModelStatus.CORRUPT]
    print(f"\n{ok} ok, {missing} missing, {corrupt} corrupt in {manager.cache_dir}")
    if corrupt:
        print("fetch corrupt models again with: tryon models pull --force NAME")
    return exit_code(ok, corrupt)
