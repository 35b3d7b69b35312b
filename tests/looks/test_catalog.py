from __future__ import annotations

import json
import typing

import pytest

from tryon.color import Color
from tryon.effects import EFFECTS, effect_class
from tryon.errors import CatalogError
from tryon.looks import CATEGORIES, Catalog
from tryon.looks.spec import product_keys


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.builtin()


def test_builtin_catalogue_has_brands_and_realistic_shade_ranges(catalog):
    assert len(catalog.brands) >= 2
    assert len(catalog.find("lipstick")) >= 20
    for category in CATEGORIES:
        assert catalog.find(category), f"no {category} products"
    # Foundations run from light to deep skin tones.
    lightness = sorted(p.color.lab[0] for p in catalog.find("foundation"))
    assert len(lightness) >= 10
    assert lightness[-1] > 85 and lightness[0] < 35
    # Lipsticks run from pale nudes to deep berries.
    lips = [p.color.lab[0] for p in catalog.find("lipstick")]
    assert max(lips) > 70 and min(lips) < 25


def test_lookup_by_sku_ignores_case_and_filters_by_category_and_brand(catalog):
    product = catalog.get("try-lip-001")
    assert (product.sku, product.category, product.color) == ("TRY-LIP-001", "lipstick", Color.from_hex("#9E1B32"))
    assert "TRY-LIP-001" in catalog and "TRY-LIP-999" not in catalog
    blushes = catalog.find("blush", brand="Atelier Nova")
    assert blushes and all(p.category == "blush" and p.brand == "Atelier Nova" for p in blushes)
    assert len(catalog.find()) == len(catalog)
    # A brand is read as `Catalog.brand` reads it: any case, its first words (before: exactly, or nothing found)
    assert catalog.find("blush", brand="atelier") == catalog.find("blush", brand="ATELIER NOVA") == blushes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.get("TRY-LIP-999"), "unknown SKU 'TRY-LIP-999'"),
        (lambda c: c.find("glitter"), "allowed: foundation, concealer"),
        (lambda c: c.find("blush", brand="Nobody"), "unknown brand 'Nobody'; known brands: "),
    ],
)
def test_unknown_sku_or_category_is_refused(catalog, call, message):
    with pytest.raises(CatalogError) as info:
        call(catalog)
    assert message in str(info.value)


def test_every_category_is_an_effect_that_takes_a_product_colour_and_finish(catalog):
    for category in CATEGORIES:
        assert category in EFFECTS
        assert "sku" in product_keys(category), f"{category} has no colour option for a product"
    for product in catalog:
        hints = typing.get_type_hints(effect_class(product.category).Options)
        finish = hints.get("finish")
        if finish is not None and product.finish is not None:
            allowed = {m.value for m in finish}
            assert product.finish in allowed, f"{product.sku}: finish {product.finish} not in {allowed}"


GOOD = {"sku": "X-LIP-001", "product": "P", "category": "lipstick", "shade": "S", "hex": "#9E1B32"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "line 1, column 2: not valid JSON"),
        (json.dumps([GOOD]), "exactly the fields 'brand' and 'products'"),
        (json.dumps({"brand": "B", "products": []}), "products: must be a non-empty list"),
        (
            json.dumps({"brand": "B", "products": [GOOD, {**GOOD, "sku": "X-LIP-002", "hex": "red"}]}),
            "products[1].hex: colour must be a hex string",
        ),
        (
            json.dumps({"brand": "B", "products": [{**GOOD, "category": "glitter"}]}),
            "products[0].category: 'glitter' is not allowed; allowed: foundation",
        ),
        (
            json.dumps({"brand": "B", "products": [{**GOOD, "finish": "sparkly"}]}),
            "products[0].finish: 'sparkly' is not allowed; allowed: matte",
        ),
        (
            json.dumps({"brand": "B", "products": [{**GOOD, "colour": "#000000"}]}),
            "products[0].colour: unknown field; allowed: sku",
        ),
        (
            json.dumps({"brand": "B", "products": [{k: v for k, v in GOOD.items() if k != "shade"}]}),
            "products[0]: missing field 'shade'",
        ),
        (json.dumps({"brand": "B", "products": [{**GOOD, "sku": "x lip 1"}]}), "products[0].sku: 'x lip 1' must be"),
        (json.dumps({"brand": "B", "products": [GOOD, GOOD]}), "SKU X-LIP-001 is listed twice"),
    ],
)
def test_malformed_catalogue_names_file_product_and_field(tmp_path, content, message):
    path = tmp_path / "brand.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        Catalog.load([path])
    assert message in str(info.value)
    if "listed twice" not in message:
        assert str(path) in str(info.value)


def test_a_missing_catalogue_file_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="no such catalogue file"):
        Catalog.load([tmp_path / "missing.json"])
