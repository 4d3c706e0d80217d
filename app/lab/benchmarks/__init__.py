"""Measuring logic behind `poh bench ...` (figures are printed, never asserted)."""
