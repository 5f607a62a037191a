"""Plots and their owners' fractions: the use cases (SPEC §3a); meters are ``meters.py``,
readings and consumption ``readings.py``.

Admins manage plots and meters and may record any reading at any time (an estimate, a meter's
replacement). Owners read their own plots and meters and send the readings of their own plots'
meters inside the community's reading window; everything else of theirs is 404.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from kopilka.models import Owner, Plot, PlotOwner
from kopilka.owners.service import resolve_owner
from kopilka.plots import queries as q
from kopilka.plots.consumption import exact_text, terminates
from kopilka.plots.schemas import PlotCreate, PlotOut, PlotOwnerIn, PlotOwnerOut, PlotPatch

_FRACTION = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*")


def decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


# ---------------------------------------------------------------- fractions


def parse_fraction(raw: object, owner_id: int) -> Fraction:
    """An owner's fraction of a plot, exact: "0.5", 0.25 (a JSON number, parsed as Decimal) or
    "1/3"; above 0 and at most 1."""
    field = f"owners: fraction of owner {owner_id}"
    if isinstance(raw, (bool, float)):
        raise ValidationFailed(f'{field}: expected an exact number such as "0.5" or "1/3"')
    try:
        if isinstance(raw, str) and (m := _FRACTION.fullmatch(raw)):
            if int(m.group(2)) == 0:
                raise ValidationFailed(f"{field}: {raw!r} divides by zero")
            f = Fraction(int(m.group(1)), int(m.group(2)))
        elif isinstance(raw, str):
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw.strip()):
                raise ValidationFailed(f'{field}: {raw!r} is not a number such as "0.5" or "1/3"')
            f = Fraction(Decimal(raw.strip()))
        elif isinstance(raw, (int, Decimal)):
            f = Fraction(raw)
        else:
            raise ValidationFailed(f'{field}: expected a number such as "0.5" or "1/3"')
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f'{field}: {raw!r} is not a number such as "0.5"') from None
    if f <= 0 or f > 1:
        raise ValidationFailed(f"{field} must be above 0 and at most 1, got {raw}")
    if f.denominator > 10**12:
        raise ValidationFailed(f"{field}: {raw} is too fine (denominator above 10^12)")
    return f


def fraction_text(f: Fraction) -> str:
    """ "0.5" when the fraction is a terminating decimal, else "1/3" (exact either way)."""
    if terminates(f):
        return exact_text(f)
    return f"{f.numerator}/{f.denominator}"


def _fractions(owners: list[PlotOwnerIn]) -> list[tuple[int, Fraction]]:
    """(owner id, fraction) summing to exactly 1; one owner without a fraction takes the rest."""
    if not owners:
        return []
    seen: set[int] = set()
    for o in owners:
        if o.owner_id in seen:
            raise ValidationFailed(f"owners: owner {o.owner_id} is named more than once")
        seen.add(o.owner_id)
    omitted = [o for o in owners if o.fraction is None]
    if len(omitted) > 1:
        raise ValidationFailed(
            "owners: give every co-owner's fraction (one owner alone may omit it; "
            f"owners {', '.join(str(o.owner_id) for o in omitted)} have none)"
        )
    given = {
        o.owner_id: parse_fraction(o.fraction, o.owner_id) for o in owners if o.fraction is not None
    }
    total = sum(given.values(), Fraction(0))
    if omitted:
        rest = 1 - total
        if rest <= 0:
            raise ValidationFailed(
                f"owners: the given fractions already total {fraction_text(total)}, "
                f"nothing is left for owner {omitted[0].owner_id}"
            )
        given[omitted[0].owner_id] = rest
    elif total != 1:
        raise ValidationFailed(
            f"owners: fractions total {fraction_text(total)}, they must total exactly 1"
        )
    return [(o.owner_id, given[o.owner_id]) for o in owners]


# ---------------------------------------------------------------- plots


def _owners_of(ctx: Ctx, plot_ids: list[int]) -> dict[int, list[PlotOwnerOut]]:
    out: dict[int, list[PlotOwnerOut]] = {pid: [] for pid in plot_ids}
    if not plot_ids:
        return out
    for plot_id, owner_id, name, num, den, _pk in ctx.session.execute(
        q.PLOT_OWNERS, {"plot_ids": plot_ids}
    ):
        out[plot_id].append(
            PlotOwnerOut(owner_id=owner_id, name=name, fraction=fraction_text(Fraction(num, den)))
        )
    return out


def plots_out(ctx: Ctx, plots: list[Plot]) -> list[PlotOut]:
    owners = _owners_of(ctx, [p.id for p in plots])
    return [
        PlotOut(
            id=p.id,
            number=p.number,
            area=decimal_text(p.area),
            weight=decimal_text(p.weight),
            owners=owners[p.id],
            active=p.is_active,
            created_at=p.created_at,
            version=p.version,
        )
        for p in plots
    ]


def plot_out(ctx: Ctx, plot: Plot) -> PlotOut:
    return plots_out(ctx, [plot])[0]


def _number(raw: str) -> str:
    number = raw.strip()
    if not number:
        raise ValidationFailed("number: must not be blank")
    return number


def _number_free(ctx: Ctx, number: str, exclude: int | None) -> None:
    found = ctx.session.scalar(
        q.PLOT_BY_NUMBER, {"community_id": ctx.community_id, "number": number}
    )
    if found is not None and found != exclude:
        raise Conflict(f"Plot {number!r} already exists in this community (id {found})")


def _set_owners(ctx: Ctx, plot: Plot, owners: list[PlotOwnerIn]) -> list[dict[str, Any]]:
    fractions = _fractions(owners)
    resolved = [(resolve_owner(ctx, oid, field="owners: owner_id"), f) for oid, f in fractions]
    ctx.session.query(PlotOwner).filter(PlotOwner.plot_id == plot.id).delete()
    for owner, f in resolved:
        ctx.session.add(
            PlotOwner(
                plot_id=plot.id,
                owner_pk=owner.id,
                fraction_num=f.numerator,
                fraction_den=f.denominator,
            )
        )
    ctx.session.flush()
    return [{"owner_id": o.owner_id, "fraction": fraction_text(f)} for o, f in resolved]


def _plot_snapshot(ctx: Ctx, plot: Plot) -> dict[str, Any]:
    snap = snapshot(plot)
    snap["owners"] = [o.model_dump() for o in _owners_of(ctx, [plot.id])[plot.id]]
    return snap


def create_plot(ctx: Ctx, data: PlotCreate) -> Plot:
    ctx.require_admin()
    number = _number(data.number)
    _fractions(data.owners)  # 400 before anything is written
    _number_free(ctx, number, None)
    plot = Plot(
        community_id=ctx.community_id,
        number=number,
        area=data.area,
        weight=data.weight if data.weight is not None else data.area,
        is_active=data.active,
    )
    ctx.session.add(plot)
    ctx.session.flush()
    _set_owners(ctx, plot, data.owners)
    record(ctx, "plot.create", "plot", plot.id, after=_plot_snapshot(ctx, plot))
    return plot


def get_plot(ctx: Ctx, plot_id: int, *, lock: bool = False) -> Plot:
    """A plot of this community; an owner sees only their own (404 otherwise)."""
    stmt = q.PLOT.with_for_update() if lock else q.PLOT
    plot = ctx.session.scalar(stmt, {"plot_id": plot_id, "community_id": ctx.community_id})
    if plot is None or (ctx.actor.role == Role.OWNER and not owner_holds(ctx, plot.id)):
        raise NotFound(f"Plot {plot_id} not found")
    return plot


def owner_holds(ctx: Ctx, plot_id: int) -> bool:
    return (
        ctx.session.scalar(q.OWNS_PLOT, {"plot_id": plot_id, "owner_pk": ctx.actor.owner_pk})
        is not None
    )


def patch_plot(ctx: Ctx, plot_id: int, data: PlotPatch, if_match: int | None = None) -> Plot:
    ctx.require_admin()
    plot = get_plot(ctx, plot_id, lock=True)
    if if_match is not None and if_match != plot.version:
        raise PreconditionFailed(
            f"Plot {plot_id} has changed (version {plot.version}, you sent {if_match}); "
            "read it again and retry"
        )
    changes = data.model_dump(exclude_unset=True)
    for key in ("number", "area", "weight", "owners", "active"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    if data.owners is not None:
        _fractions(data.owners)
    before = _plot_snapshot(ctx, plot)
    if data.number is not None:
        number = _number(data.number)
        _number_free(ctx, number, plot.id)
        plot.number = number
    if data.area is not None:
        if data.weight is None and plot.weight == plot.area:
            plot.weight = data.area  # the weight followed the area: it still does
        plot.area = data.area
    if data.weight is not None:
        plot.weight = data.weight
    if data.active is not None:
        plot.is_active = data.active
    if data.owners is not None:
        _set_owners(ctx, plot, data.owners)
    plot.version += 1
    plot.updated_at = func.now()  # type: ignore[assignment]
    ctx.session.flush()
    ctx.session.refresh(plot)
    record(ctx, "plot.update", "plot", plot.id, before=before, after=_plot_snapshot(ctx, plot))
    return plot


def deactivate_plot(ctx: Ctx, plot_id: int) -> None:
    """DELETE: the plot is deactivated (its meters and readings stay, for the periods before)."""
    patch_plot(ctx, plot_id, PlotPatch(active=False))


def list_plots(
    ctx: Ctx, *, owner_id: int | None, active: bool | None, after: int | None, limit: int
) -> list[Plot]:
    stmt = select(Plot).where(Plot.community_id == ctx.community_id)
    if ctx.actor.role == Role.OWNER:
        stmt = stmt.where(
            Plot.id.in_(select(PlotOwner.plot_id).where(PlotOwner.owner_pk == ctx.actor.owner_pk))
        )
    if owner_id is not None:
        stmt = stmt.where(
            Plot.id.in_(
                select(PlotOwner.plot_id)
                .join(Owner, Owner.id == PlotOwner.owner_pk)
                .where(Owner.owner_id == owner_id, Owner.community_id == ctx.community_id)
            )
        )
    if active is not None:
        stmt = stmt.where(Plot.is_active.is_(active))
    if after is not None:
        stmt = stmt.where(Plot.id > after)
    return list(ctx.session.scalars(stmt.order_by(Plot.id).limit(limit + 1)))
