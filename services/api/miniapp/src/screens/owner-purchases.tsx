// The owner's group purchases of the chosen period: each list with its total and what the owner
// ordered; a tap opens it to order items.
import { api } from "../core/api";
import { useApp } from "../core/app";
import { money, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Loading, useLoad } from "../core/ui";
import { PeriodPicker } from "./parts";
import { PurchaseSummary } from "./purchase";

export function PurchaseList({ empty }: { empty: string }) {
  const app = useApp();
  const p = app.period;
  const list = useLoad<any[]>(() => (p ? api(`/periods/${p.id}/purchases?limit=100`) : Promise.resolve([])), [p?.id, app.tick]);
  return (
    <>
      {list.loading && !list.data && <Loading />}
      <ErrorBox error={list.error} />
      {(list.data ?? []).map((x: any) => {
        const mine = x.owners.find((o: any) => o.owner_id === app.me.owner_id);
        return (
          <Card title={x.title} id={"purchase-" + x.id}>
            <PurchaseSummary p={x} />
            {app.mode === "owner" && (
              <p>{mine ? t("purchases.my_subtotal", { amount: money(mine.subtotal, app.currency) }) : t("purchases.not_ordered")}</p>
            )}
            <button type="button" class="secondary" onClick={() => app.go("purchase", { id: x.id })}>
              {t(x.accepting_items && app.mode === "owner" ? "purchases.order" : "purchases.open")}
            </button>
          </Card>
        );
      })}
      {list.data && list.data.length === 0 && <p class="muted">{empty}</p>}
    </>
  );
}

function OwnerPurchases() {
  return (
    <>
      <PeriodPicker />
      <PurchaseList empty={t("purchases.none_owner")} />
    </>
  );
}

export default defineScreen({ id: "owner-purchases", mode: "owner", title: "screen.purchases", tab: 3, component: OwnerPurchases });
