"""Plots, meters, readings and consumption (SPEC §3a)."""
