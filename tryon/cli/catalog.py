"""``tryon catalog [CATEGORY]``: the products a look can name by SKU."""

from __future__ import annotations

import argparse
import json

from tryon.cli.common import EXIT_OK, table
from tryon.errors import CatalogError
from tryon.looks import CATEGORIES, Catalog

__all__ = ["register", "run"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "catalog",
        parents=[common],
        help="list the catalogue's products (SKUs for looks)",
        description="List the built-in products; a look names one as, e.g., lipstick: {sku: TRY-LIP-007}.",
    )
    parser.add_argument(
        "category",
        nargs="?",
        choices=CATEGORIES,
        metavar="CATEGORY",
        help=f"only this category: {', '.join(CATEGORIES)}",
    )
    parser.add_argument(
        "--brand", metavar="NAME", help="only this brand (any case; its first words will do, e.g. kobo)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    catalog = Catalog.builtin()
    brand = None if args.brand is None else catalog.brand(args.brand)
    products = catalog.find(args.category, brand)
    if brand is not None and not products:  # a brand without this category: say so, not an empty list
        categories = ", ".join(dict.fromkeys(p.category for p in catalog.find(brand=brand)))
        raise CatalogError(f"{brand} has no {args.category}; its categories: {categories}")
    if args.json:
        print(json.dumps([p.as_dict() for p in products], indent=2, ensure_ascii=False))
        return EXIT_OK
    rows = [("SKU", "category", "brand", "product", "shade", "hex", "finish")]
    rows += [(p.sku, p.category, p.brand, p.product, p.shade, p.color.hex, p.finish or "") for p in products]
    print(table(rows))
    return EXIT_OK
