"""Looks: data files naming effects and their options (placeholder; being written)."""

from tryon.looks.look import Look

__all__ = ["Look"]
