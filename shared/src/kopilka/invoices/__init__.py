"""Invoices: issued at close, paid oldest first by the owner's payments (SPEC §4a)."""
