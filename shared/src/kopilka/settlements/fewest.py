"""Settlement: the fewest transfers between owners that settle their balances (SPEC §6).
Pure, no I/O.

Exactly the fewest while at most ``EXACT_UP_TO`` (16) owners have a non-zero balance: n owners
whose balances sum to zero need n - g transfers, where g is the largest number of groups they
split into that each sum to zero (each group settles within itself with one transfer fewer than
it has members, and no plan does better). g is found over the subsets of the owners (2^16 at
most: see ``_zero_sum_chain``). Beyond 16 owners the id-ordered line below: at most n - 1
transfers, and stable.

Balances are integer minor units, positive = credit (the owner is owed), negative = debt (the
owner owes). Their sum may be non-zero: the fund's own cash makes up the difference, so only
``min(total credit, total debt)`` can be settled between owners.

The algorithm, and why suggestions are *stable*
-----------------------------------------------
Lay the debtors on one line and the creditors on another, each in increasing owner id, every
owner taking a segment as long as their balance. The fund's imbalance ``|sum of balances|`` is
cut from the end of the longer line, so both lines have the length ``min(debt, credit)``. Every
place where a debtor's segment overlaps a creditor's segment is one transfer of the overlap's
length. Segments are contiguous, so each (debtor, creditor) pair overlaps at most once, and the
number of transfers is at most (number of debtors + number of creditors − 1).

Paying one suggested transfer of amount ``a`` removes the same stretch ``[x, x + a)`` from both
lines: the debtor's and the creditor's segments shrink by ``a``, everything before ``x`` stays
where it was and everything after moves left by ``a`` on both lines, and the cut (the sum of
balances) does not change. So every other overlap is exactly what it was: the new suggestions
are the old ones minus the paid transfer. This only works because the order on the lines (owner
id) does not depend on the amounts; ordering by amount (the usual "largest debtor pays largest
creditor" greedy) can reorder after a payment and change every later suggestion.

Hub mode (``via``): every other debtor pays the hub and the hub pays every other creditor. The
lines then hold the owners other than the hub, and the cut is still the sum of all balances
(which no payment changes); the hub's own balance is settled implicitly by the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kopilka.errors import ValidationFailed

__all__ = ["EXACT_UP_TO", "Transfer", "suggest_settlements"]

# Up to this many owners with a non-zero balance the suggestion is exactly the fewest transfers.
EXACT_UP_TO = 16


@dataclass(frozen=True, order=True)
class Transfer:
    """``from_owner_id`` pays ``to_owner_id`` ``amount_minor`` minor units."""

    from_owner_id: int
    to_owner_id: int
    amount_minor: int


def _line(owners: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The owners (sorted by id, positive amounts) truncated to a prefix of ``length``."""
    out: list[tuple[int, int]] = []
    left = length
    for owner_id, amount in owners:
        if left <= 0:
            break
        take = min(amount, left)
        out.append((owner_id, take))
        left -= take
    return out


def suggest_settlements(balances: Mapping[int, int], *, via: int | None = None) -> list[Transfer]:
    """Transfers between owners that settle as much of ``balances`` as can be settled.

    Deterministic, sorted by amount (largest first), then payer id, then payee id; at most
    n − 1 transfers for n owners with a non-zero balance (without ``via``); stable: paying any
    one suggested transfer leaves the others as suggested. With ``via`` every debtor pays that
    owner and that owner pays every creditor.
    """
    for owner_id, balance in balances.items():
        if type(balance) is not int:
            raise ValidationFailed(
                f"balance of owner {owner_id}: {balance!r} is not a whole number of minor units"
            )
    if via is not None and via not in balances:
        raise ValidationFailed(f"via: owner {via} has no balance here, so cannot act as the hub")

    imbalance = sum(balances.values())  # > 0: the fund owes owners; < 0: owners owe the fund
    debtors = sorted((k, -b) for k, b in balances.items() if b < 0 and k != via)
    creditors = sorted((k, b) for k, b in balances.items() if b > 0 and k != via)
    debt_owners, credit_owners = len(debtors), len(creditors)
    debt = sum(a for _, a in debtors)
    credit = sum(a for _, a in creditors)
    paying = _line(debtors, debt + min(imbalance, 0))
    receiving = _line(creditors, credit - max(imbalance, 0))

    transfers: list[Transfer] = []
    if via is not None:
        transfers.extend(Transfer(k, via, a) for k, a in paying)
        transfers.extend(Transfer(via, k, a) for k, a in receiving)
    elif debt_owners + credit_owners <= EXACT_UP_TO:
        settled = {k: -a for k, a in paying}
        settled.update(receiving)
        for group in _fewest_groups(settled):
            members = sorted(group)
            transfers.extend(
                _sweep(
                    [(k, -settled[k]) for k in members if settled[k] < 0],
                    [(k, settled[k]) for k in members if settled[k] > 0],
                )
            )
    else:
        transfers = _sweep(paying, receiving)
    transfers.sort(key=lambda t: (-t.amount_minor, t.from_owner_id, t.to_owner_id))
    return transfers


def _sweep(paying: list[tuple[int, int]], receiving: list[tuple[int, int]]) -> list[Transfer]:
    """The overlaps of the two lines of equal length (see the module's docstring)."""
    transfers: list[Transfer] = []
    i = j = 0
    owe = paying[0][1] if paying else 0
    due = receiving[0][1] if receiving else 0
    while i < len(paying) and j < len(receiving):
        amount = min(owe, due)
        transfers.append(Transfer(paying[i][0], receiving[j][0], amount))
        owe -= amount
        due -= amount
        if owe == 0:
            i += 1
            if i < len(paying):
                owe = paying[i][1]
        if due == 0:
            j += 1
            if j < len(receiving):
                due = receiving[j][1]
    return transfers


def _fewest_groups(balances: dict[int, int]) -> list[list[int]]:
    """The owners (non-zero balances summing to zero) split into the most groups that each sum
    to zero. Deterministic: the same balances give the same groups."""
    owners = sorted(balances)
    n = len(owners)
    if n == 0:
        return []
    chain = _zero_sum_chain([balances[k] for k in owners])
    groups: list[list[int]] = []
    inner = 0
    for mask in chain:
        groups.append([owners[i] for i in range(n) if (mask & ~inner) >> i & 1])
        inner = mask
    return groups


def _zero_sum_chain(values: list[int]) -> list[int]:
    """The longest chain 0 < m1 < m2 < ... < full of subsets (bit masks) that each sum to zero;
    its steps are the groups. ``values`` sums to zero.

    The subsets are bits of Python integers of 2^n bits, so each step over all 2^n subsets is
    one big-integer operation: ``level[L]`` holds the zero-sum subsets that end a chain of L
    zero-sum subsets; level L + 1 takes the zero-sum subsets that strictly contain one of level
    L (the "strictly contains" is the upward closure, one shift per owner)."""
    n = len(values)
    size = 1 << n
    sums = [0]
    for v in values:
        sums += [s + v for s in sums]
    # bit m of ``zero``: subset m sums to zero (the empty set excluded)
    zero = int("".join("1" if v == 0 else "0" for v in reversed(sums)), 2) & ~1
    # without[i]: the subsets that lack owner i, as a 2^n-bit integer
    without = [int(("0" * (1 << i) + "1" * (1 << i)) * (size >> (i + 1)), 2) for i in range(n)]

    def strictly_above(sets: int) -> int:
        """The subsets that strictly contain one of ``sets``."""
        up = sets
        for i in range(n):
            up |= (up & without[i]) << (1 << i)
        strict = 0
        for i in range(n):
            strict |= (up & without[i]) << (1 << i)
        return strict

    levels = [zero]
    while True:
        nxt = zero & strictly_above(levels[-1])
        if not nxt:
            break
        levels.append(nxt)
    full = size - 1
    # Walk down from the full set: at each level the smallest zero-sum subset of the previous
    # level inside the current one.
    chain = [full]
    current = full
    for level in reversed(levels[:-1]):
        for mask in _members(level):
            if mask != current and mask & ~current == 0:
                chain.append(mask)
                current = mask
                break
    chain.reverse()
    return chain


def _members(bits: int) -> list[int]:
    """The positions of the set bits, lowest first."""
    text = bin(bits)[:1:-1]
    out: list[int] = []
    at = text.find("1")
    while at != -1:
        out.append(at)
        at = text.find("1", at + 1)
    return out
