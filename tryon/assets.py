"""Where tryon's built-in assets (looks, product catalogues) live.

In a wheel they are packaged as ``tryon/_assets``; in a source checkout (an editable install) they are the
repository's ``assets`` folder beside the package.

Example:
    >>> from tryon.assets import assets_dir
    >>> sorted(p.name for p in assets_dir("looks").glob("*.yaml"))  # doctest: +SKIP
    ['bold_red.yaml', 'evening.yaml', ...]
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tryon.errors import TryOnError

__all__ = ["assets_dir", "find_assets"]

_PACKAGE = Path(__file__).resolve().parent


def find_assets(package_dir: Path) -> Path:
    """The assets folder of a tryon package installed at ``package_dir``.

    That is ``_assets`` inside it in a wheel, else ``assets`` beside it in a source checkout.

    Raises:
        TryOnError: when neither holds the built-in looks.
    """
    candidates = (package_dir / "_assets", package_dir.parent / "assets")
    for candidate in candidates:
        if (candidate / "looks").is_dir():
            return candidate
    raise TryOnError(
        f"tryon's built-in assets were not found (looked in {', '.join(map(str, candidates))}); reinstall tryon"
    )


@cache
def _root() -> Path:
    return find_assets(_PACKAGE)


def assets_dir(*parts: str) -> Path:
    """The built-in assets folder, or a path inside it.

    Args:
        parts: path components below the assets folder, such as ``"looks"``.

    Raises:
        TryOnError: when tryon was installed without its assets.
    """
    return _root().joinpath(*parts)
