"""Allocation: sharing an amount between owners exactly to the minor unit (SPEC §2, §3).

Pure functions, no I/O. Money is integer minor units throughout; weights are exact (``int``,
``Decimal`` or ``Fraction``), never binary floating point. What computes the inputs from the
database is :mod:`kopilka.balances`; here only the arithmetic.

- :mod:`.remainder` — the largest remainder method (:func:`largest_remainder`,
  :func:`remainder_cut` by weight class), the one rounding every strategy uses.
- :mod:`.strategies` — :class:`Strategy`, :func:`parse_strategy` and :func:`allocate`
  (PROPORTIONAL, FIXED_FEE, USAGE_BASED, SHARES, PERCENTAGE, EXACT, NONE).
- :mod:`.splits` — an expense's own split: :func:`parse_split`, :func:`split_to_json`,
  :func:`split_values_minor`.
- :mod:`.items` — ITEM_BASED: each owner pays their items, the rest shared equally; the priced
  item parser group purchases use too.
- :mod:`.tariff` — TARIFF: consumption x tariff per zone, the loss shared by a loss strategy.
- :mod:`.exact` — exact ratios of weights, decimals counted, amounts as text.
"""
