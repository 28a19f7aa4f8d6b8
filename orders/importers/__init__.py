"""Importers for Amazon report documents, one per catalogue entry (see registry.py)."""
