"""Recurring charge templates and their generation into OPEN periods (SPEC §4a)."""
