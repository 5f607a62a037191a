// The period's documents, newest first: contributions, expenses, charges, readings and transfers.
// A tap opens the document in its form to correct it (If-Match) or delete it.
import { useState } from "preact/hooks";
import { api } from "../core/api";
import { useApp } from "../core/app";
import { day, money, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Loading, ownerLabel, useLoad, useOwners } from "../core/ui";
import { KINDS, type Kind } from "./admin-record";
import { PeriodPicker } from "./parts";

const LISTS: Record<Kind, string> = {
  contribution: "contributions",
  expense: "expenses",
  charge: "charges",
  reading: "meter-readings",
  transfer: "settlements",
};

function Journal() {
  const app = useApp();
  const owners = useOwners();
  const [kind, setKind] = useState<Kind>("contribution");
  const p = app.period;
  const rows = useLoad<any[]>(
    () => (p ? api(`/periods/${p.id}/${LISTS[kind]}?limit=500`) : Promise.resolve([])),
    [p?.id, kind, app.tick],
  );
  const name = (id: number | null | undefined) => {
    if (id === null || id === undefined) return t("form.paid_by_fund");
    const o = owners.find((x) => x.owner_id === id);
    return o ? ownerLabel(o) : String(id);
  };
  const line = (r: any): string => {
    switch (kind) {
      case "expense":
        return `${r.payment_type} · ${name(r.paid_by_owner_id)}${r.vendor ? " · " + r.vendor : ""}`;
      case "reading":
        return `${name(r.owner_id)} · ${r.meter_type}: ${r.start_reading} → ${r.end_reading}`;
      case "transfer":
        return `${name(r.from_owner_id)} → ${name(r.to_owner_id)}`;
      default:
        return `${name(r.owner_id)}${r.is_opening ? " · " + t("owner.carried_forward") : ""}${
          r.comment || r.description ? " · " + (r.comment || r.description) : ""
        }`;
    }
  };
  return (
    <>
      <PeriodPicker />
      <div class="segmented wrap" role="group" aria-label={t("record.kind")}>
        {KINDS.map((k) => (
          <button type="button" id={"journal-" + k} aria-pressed={kind === k} onClick={() => setKind(k)}>
            {t("record.kinds." + k)}
          </button>
        ))}
      </div>
      <Card title={t("record.kinds." + kind)} id="journal">
        {rows.loading && !rows.data && <Loading />}
        <ErrorBox error={rows.error} />
        <ul class="rows">
          {(rows.data ?? [])
            .slice()
            .reverse()
            .map((r: any) => (
              <li>
                <button type="button" class="link row-button" disabled={r.is_opening}
                  onClick={() => app.go("admin-record", { kind, doc: r })}>
                  <span>
                    {line(r)}
                    <span class="muted block">{day(r.date)}</span>
                  </span>
                  <span class="right">{r.amount !== undefined ? money(r.amount, app.currency) : r.consumption}</span>
                </button>
              </li>
            ))}
        </ul>
        {rows.data && rows.data.length === 0 && <p class="muted">{t("journal.empty")}</p>}
      </Card>
    </>
  );
}

export default defineScreen({ id: "admin-journal", mode: "admin", title: "screen.journal", tab: 3, component: Journal });
