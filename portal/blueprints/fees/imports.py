"""Importers for bills and payments (contracts §4); built by the imports work."""
