from __future__ import annotations

import pytest

from tryon.assets import assets_dir, find_assets
from tryon.errors import TryOnError


def test_the_builtin_assets_are_found():
    assert (assets_dir("looks") / "natural.yaml").is_file()
    assert sorted(assets_dir("catalog").glob("*.json"))


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (["site/tryon/_assets/looks"], "site/tryon/_assets"),  # a wheel: force-included as tryon/_assets
        (["repo/assets/looks", "repo/tryon"], "repo/assets"),  # an editable install of a checkout
    ],
)
def test_assets_are_found_in_a_wheel_and_in_a_checkout(tmp_path, layout, expected):
    for folder in layout:
        (tmp_path / folder).mkdir(parents=True)
    package = tmp_path / expected.split("/")[0] / "tryon"
    assert find_assets(package) == tmp_path / expected


def test_missing_assets_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(TryOnError, match=r"built-in assets were not found .*_assets.*reinstall"):
        find_assets(tmp_path / "tryon")
