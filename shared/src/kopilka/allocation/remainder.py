"""The largest remainder method: sharing an amount exactly to the minor unit (SPEC §2).

Every owner gets the floor of their exact share, the leftover minor units go one each to the
largest fractional remainders; ties go to the larger weight, then to the larger owner id. The
shares always sum to the total exactly. :class:`Cut` is the same method over weight classes, so
one owner's share can be computed without sharing the pool between everyone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kopilka.allocation.exact import Weight, check_total, ratio
from kopilka.errors import ValidationFailed

_EXACT_TYPES = frozenset({int, Decimal, Fraction})


class Scaled:
    """Weights as integers over one common denominator, owners in increasing id order."""

    __slots__ = ("den", "ids", "nums")

    def __init__(self, ids: list[int], nums: list[int], den: int) -> None:
        self.ids = ids
        self.nums = nums
        self.den = den


def scaled_weights(weights: Mapping[int, object], what: str) -> Scaled:
    """``weights`` as integer numerators over their least common denominator.

    Each distinct weight is converted once (share weights repeat a lot), so a thousand owners
    cost a few dict look-ups each, not a thousand exact conversions.
    """
    ids = sorted(weights)
    values = [weights[k] for k in ids]
    types = {type(v) for v in values}
    if types == {int}:
        return Scaled(ids, values, 1)  # type: ignore[arg-type]
    if Fraction in types or not types <= _EXACT_TYPES:
        # Fractions hash slowly; a float, a bool or something else: the per-owner conversion
        # names the owner.
        ratios_each = [ratio(k, v, what) for k, v in zip(ids, values, strict=True)]
        den = math.lcm(*{d for _, d in ratios_each})
        return Scaled(ids, [n * (den // d) for n, d in ratios_each], den)
    try:
        distinct = set(values)
    except TypeError:  # a signalling NaN cannot be hashed: the per-owner check names it
        for k, v in zip(ids, values, strict=True):
            ratio(k, v, what)
        raise
    try:
        ratios = {v: ratio(0, v, what) for v in distinct}
    except ValidationFailed:  # say which owner
        for k, v in zip(ids, values, strict=True):
            ratio(k, v, what)
        raise
    den = math.lcm(*{d for _, d in ratios.values()})
    scaled = {v: n * (den // d) for v, (n, d) in ratios.items()}
    return Scaled(ids, [scaled[v] for v in values], den)


@dataclass(frozen=True)
class Cut:
    """Where the largest remainder method puts every unit, per weight class.

    Owners of equal weight (a *class*, keyed by the weight's integer numerator over a common
    denominator) have the same floor share ``base[n]`` and the same remainder; the leftover
    units go to whole classes in the order (remainder, weight) descending (``full``: each member
    gets one more), and the class where they run out (``edge``) gives its last ``edge_units`` to
    its members with the largest owner ids. So one owner's share needs only the classes (weights
    and their counts) and, in the edge class alone, how many of its members have a larger id:
    this is how one owner's balance is computed without sharing the pool between everyone.
    """

    base: dict[int, int]
    full: frozenset[int]
    edge: int | None
    edge_units: int

    def share(self, n: int, larger_ids_in_class: int | None = None) -> int:
        """The share of an owner of weight numerator ``n``; ``larger_ids_in_class`` (needed only
        when ``needs_rank(n)``) is how many owners of the same weight have a larger owner id."""
        out = self.base[n]
        if n in self.full:
            return out + 1
        if n == self.edge:
            if larger_ids_in_class is None:
                raise ValueError("the edge class needs the owner's rank by id")
            if larger_ids_in_class < self.edge_units:
                return out + 1
        return out

    def needs_rank(self, n: int) -> bool:
        return n == self.edge


def remainder_cut(total_minor: int, counts: Mapping[int, int]) -> Cut:
    """The largest remainder method over weight classes: ``counts`` maps each weight numerator
    (integers over one common denominator, not negative, not all zero) to its number of owners.
    Exact integer arithmetic; the shares of all owners sum to ``total_minor``."""
    weight_sum = sum(n * c for n, c in counts.items())
    base: dict[int, int] = {}
    rem: dict[int, int] = {}
    given = 0
    for n, c in counts.items():
        q, r = divmod(total_minor * n, weight_sum)
        base[n] = q
        rem[n] = r
        given += q * c
    leftover = total_minor - given
    full: list[int] = []
    edge: int | None = None
    units = 0
    if leftover:
        # 0 < leftover < number of owners with a non-zero remainder.
        for n in sorted((n for n in counts if rem[n]), key=lambda n: (rem[n], n), reverse=True):
            c = counts[n]
            if leftover >= c:
                full.append(n)
                leftover -= c
            else:
                edge, units = n, leftover
                leftover = 0
            if not leftover:
                break
    return Cut(base, frozenset(full), edge, units)


def largest_remainder_scaled(total_minor: int, w: Scaled, what: str) -> dict[int, int]:
    ids, nums = w.ids, w.nums
    if min(nums) < 0:
        k = next(k for k, n in zip(ids, nums, strict=True) if n < 0)
        raise ValidationFailed(f"{what} of owner {k} is negative")
    if sum(nums) <= 0:
        raise ValidationFailed(f"{what}: the total is zero, so there is nothing to share by")
    return _expand(remainder_cut(total_minor, Counter(nums)), ids, nums)


def _expand(cut: Cut, ids: list[int], nums: list[int]) -> dict[int, int]:
    """Every owner's share from the cut; ``ids`` in increasing order, ``nums`` their weights."""
    base, full = cut.base, cut.full
    shares = [base[n] + 1 if n in full else base[n] for n in nums]
    need = cut.edge_units
    if cut.edge is not None:
        for i in range(len(ids) - 1, -1, -1):  # the edge class's largest ids first
            if nums[i] == cut.edge:
                shares[i] += 1
                need -= 1
                if not need:
                    break
    return dict(zip(ids, shares, strict=True))


def largest_remainder(total_minor: int, weights: Mapping[int, Weight]) -> dict[int, int]:
    """Share ``total_minor`` between the keys of ``weights`` in proportion to the weights.

    Every owner gets ``floor(total * w / sum(w))``; the leftover units go one each to the largest
    fractional remainders, ties to the larger weight, then to the larger owner id. Exact integer
    arithmetic; the result sums to ``total_minor`` and has every key (zero weight gets 0).
    """
    check_total(total_minor)
    if not weights:
        raise ValidationFailed("allocation: there are no owners to share the amount between")
    return largest_remainder_scaled(total_minor, scaled_weights(weights, "weight"), "weight")


def equal_shares(total_minor: int, owner_ids: Iterable[int]) -> dict[int, int]:
    """Equal shares: largest remainder with one class of equal weights."""
    ids = sorted(owner_ids)
    return _expand(remainder_cut(total_minor, {1: len(ids)}), ids, [1] * len(ids))
