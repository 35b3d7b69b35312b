"""The product catalogue: brands' shades by SKU, so a look can say ``lipstick: {sku: TRY-LIP-007}``.

A catalogue file is JSON, one brand per file::

    {"brand": "Tryon Studio",
     "products": [{"sku": "TRY-LIP-001", "product": "Velvet Lip Colour", "category": "lipstick",
                   "shade": "Crimson Silk", "hex": "#9E1B32", "finish": "matte"}]}

A product's category is the effect it is worn with (``lipstick``, ``blush``, ``foundation`` ...).

Example:
    >>> catalog = Catalog.builtin()
    >>> catalog.get("TRY-LIP-001").color.hex  # doctest: +SKIP
    '#9E1B32'
    >>> [p.sku for p in catalog.find("blush")][:2]  # doctest: +SKIP
    ['NOVA-BLU-001', 'NOVA-BLU-002']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from tryon.assets import assets_dir
from tryon.color import Color, short_repr
from tryon.errors import CatalogError, InputError

__all__ = ["CATEGORIES", "FINISHES", "Catalog", "Product"]

#: Product categories: each is the name of the effect the product is worn with.
CATEGORIES: tuple[str, ...] = (
    "foundation",
    "concealer",
    "contour",
    "blush",
    "highlighter",
    "eyeshadow",
    "eyeliner",
    "mascara",
    "brows",
    "lenses",
    "lip_liner",
    "lipstick",
)

#: Finishes a product may declare (each effect accepts its own subset).
FINISHES: tuple[str, ...] = ("matte", "satin", "natural", "dewy", "gloss", "shimmer", "metallic")

_SKU = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
_REQUIRED = ("sku", "product", "category", "shade", "hex")
_FIELDS = (*_REQUIRED, "finish")


@dataclass(frozen=True)
class Product:
    """One shade of one product.

    Attributes:
        sku: the stock-keeping unit, unique across catalogues (upper case, such as ``TRY-LIP-001``).
        brand: the brand's name.
        product: the product line, such as ``"Velvet Lip Colour"``.
        category: the effect it is worn with (one of :data:`CATEGORIES`).
        shade: the shade's name.
        color: the shade's colour.
        finish: the finish (one of :data:`FINISHES`), or None when the product has none.
    """

    sku: str
    brand: str
    product: str
    category: str
    shade: str
    color: Color
    finish: Optional[str] = None

    @classmethod
    def from_dict(cls, data: object, brand: str, where: str) -> Product:
        """Builds a product from one catalogue entry, naming ``where`` and the field in every error.

        Raises:
            CatalogError: for a missing or unknown field or a bad value.
        """
        if not isinstance(data, dict):
            raise CatalogError(f"{where}: must be an object with fields {', '.join(_FIELDS)}")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise CatalogError(f"{where}.{unknown[0]}: unknown field; allowed: {', '.join(_FIELDS)}")
        for key in _REQUIRED:
            if key not in data:
                raise CatalogError(f"{where}: missing field {key!r}")
        for key in _FIELDS:
            if key in data and not isinstance(data[key], str):
                raise CatalogError(f"{where}.{key}: must be text, got {short_repr(data[key])}")
        sku = data["sku"]
        if not _SKU.match(sku):
            raise CatalogError(f"{where}.sku: {short_repr(sku)} must be upper-case letters and digits joined by '-'")
        if data["category"] not in CATEGORIES:
            raise CatalogError(
                f"{where}.category: {short_repr(data['category'])} is not allowed; allowed: {', '.join(CATEGORIES)}"
            )
        finish = data.get("finish")
        if finish is not None and finish not in FINISHES:
            raise CatalogError(f"{where}.finish: {short_repr(finish)} is not allowed; allowed: {', '.join(FINISHES)}")
        try:
            color = Color.from_hex(data["hex"])
        except InputError as exc:
            raise CatalogError(f"{where}.hex: {exc}") from None
        return cls(sku, brand, data["product"], data["category"], data["shade"], color, finish)

    def as_dict(self) -> dict[str, Any]:
        """The product as plain data (its catalogue entry plus the brand)."""
        out = {
            "sku": self.sku,
            "brand": self.brand,
            "product": self.product,
            "category": self.category,
            "shade": self.shade,
            "hex": self.color.hex,
        }
        if self.finish is not None:
            out["finish"] = self.finish
        return out


class Catalog:
    """Products by SKU, from one or more catalogue files.

    Args:
        products: the products; SKUs must be unique.

    Raises:
        CatalogError: for a duplicate SKU.
    """

    def __init__(self, products: Iterable[Product]) -> None:
        self._products: dict[str, Product] = {}
        for product in products:
            if product.sku in self._products:
                raise CatalogError(
                    f"SKU {product.sku} is listed twice ({self._products[product.sku].brand} and {product.brand})"
                )
            self._products[product.sku] = product

    @classmethod
    def load(cls, paths: Sequence[str | Path]) -> Catalog:
        """Reads and validates catalogue files.

        Raises:
            CatalogError: naming the file, the product's index and the field at fault.
        """
        return cls(product for path in paths for product in _read_file(Path(path)))

    @classmethod
    def builtin(cls) -> Catalog:
        """The catalogues shipped with tryon (read once, then shared)."""
        return _builtin()

    def get(self, sku: str) -> Product:
        """The product with ``sku`` (case does not matter).

        Raises:
            CatalogError: for an unknown SKU.
        """
        product = self._products.get(sku.strip().upper()) if isinstance(sku, str) else None
        if product is None:
            raise CatalogError(f"unknown SKU {short_repr(sku)}")
        return product

    def find(self, category: str | None = None, brand: str | None = None) -> list[Product]:
        """The products of a category and/or brand (all when both are None), in catalogue order.

        Args:
            category: one of :data:`CATEGORIES`, or None for all.
            brand: a brand as :meth:`brand` reads it (``"kobo"``: Kobo Beauty), or None for all.

        Raises:
            CatalogError: for an unknown category, listing the valid ones, or a brand :meth:`brand` does not resolve.
        """
        if category is not None and category not in CATEGORIES:
            raise CatalogError(f"unknown category {short_repr(category)}; allowed: {', '.join(CATEGORIES)}")
        if brand is not None:
            brand = self.brand(brand)
        return [
            p
            for p in self._products.values()
            if (category is None or p.category == category) and (brand is None or p.brand == brand)
        ]

    @property
    def brands(self) -> list[str]:
        """The brands, in catalogue order."""
        return list(dict.fromkeys(p.brand for p in self._products.values()))

    def brand(self, text: str) -> str:
        """The brand ``text`` names: the whole name or its first words, in any case (``"kobo"``: Kobo Beauty).

        Raises:
            CatalogError: when no brand, or more than one, matches (listing the known brands).
        """
        words = text.casefold().split()
        brands = self.brands
        exact = [b for b in brands if b.casefold().split() == words]
        found = exact or [b for b in brands if words and b.casefold().split()[: len(words)] == words]
        if len(found) == 1:
            return found[0]
        if found:
            raise CatalogError(f"brand {short_repr(text)} matches several brands: {', '.join(found)}; name one")
        raise CatalogError(f"unknown brand {short_repr(text)}; known brands: {', '.join(brands)}")

    def __contains__(self, sku: object) -> bool:
        return isinstance(sku, str) and sku.strip().upper() in self._products

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products.values())

    def __len__(self) -> int:
        return len(self._products)


def _read_file(path: Path) -> list[Product]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such catalogue file") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: could not be read ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"brand", "products"}:
        raise CatalogError(f"{path}: must hold an object with exactly the fields 'brand' and 'products'")
    brand, entries = data["brand"], data["products"]
    if not isinstance(brand, str) or not brand.strip():
        raise CatalogError(f"{path}: brand: must be a non-empty text")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path}: products: must be a non-empty list")
    return [Product.from_dict(entry, brand, f"{path}: products[{i}]") for i, entry in enumerate(entries)]


@lru_cache(maxsize=1)
def _builtin() -> Catalog:
    return Catalog.load(sorted(assets_dir("catalog").glob("*.json")))
