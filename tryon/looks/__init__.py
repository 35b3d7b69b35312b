"""Looks: data files (YAML or JSON) that name effects and their options, and the product catalogue they draw on.

Example:
    >>> from tryon.looks import Look, builtin_looks
    >>> list(builtin_looks())  # doctest: +SKIP
    ['bold_red', 'evening', 'glam', ...]
    >>> look = Look.load("evening", overrides=["lipstick.sku=TRY-LIP-003"])  # doctest: +SKIP
"""

from tryon.looks.catalog import CATEGORIES, Catalog, Product
from tryon.looks.loader import LOOK_SUFFIXES, builtin_looks
from tryon.looks.look import Look
from tryon.looks.overrides import OVERRIDE_FORMS

__all__ = ["CATEGORIES", "LOOK_SUFFIXES", "OVERRIDE_FORMS", "Catalog", "Look", "Product", "builtin_looks"]
