// One group purchase (SPEC §3b): its total and each owner's subtotal, live; its items (an owner's
// own can be changed and removed while the list takes orders, the others' are read-only); the
// form to order an item; for the treasurer, anyone's item, and finalizing the list into one
// expense with the shares each household pays.
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { useApp } from "../core/app";
import { money, moment, parseAmount, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Card, describe, ErrorBox, Field, Loading, OwnerSelect, ownerLabel, Status, Submit, useLoad, useOwners } from "../core/ui";

const finalizeForm = new IdempotentForm();
const itemForm = new IdempotentForm();

export function PurchaseSummary({ p }: { p: any }) {
  const app = useApp();
  return (
    <>
      <p class="muted">
        <span class={"tag status-" + p.status}>{t("purchases.status." + (p.accepting_items ? "OPEN" : p.status === "OPEN" ? "CLOSED" : p.status))}</span>{" "}
        {t("purchases.deadline", { when: moment(p.deadline) })}
      </p>
      <dl class="breakdown">
        <dt>{t("purchases.total")}</dt>
        <dd data-testid="purchase-total">{money(p.total, app.currency)}</dd>
        <dt>{t("purchases.unowned_total")}</dt>
        <dd>{money(p.unowned_total, app.currency)}</dd>
      </dl>
    </>
  );
}

function PurchaseScreen({ params }: { params: Record<string, any> }) {
  const app = useApp();
  const admin = app.mode === "admin";
  const id = Number(params.id);
  const purchase = useLoad<any>(() => api(`/purchases/${id}`), [id, app.tick]);
  const items = useLoad<any[]>(() => api(`/purchases/${id}/items`), [id, app.tick]);
  const owners = useOwners();
  const [item, setItem] = useState({ description: "", price: "", quantity: "1", owner_id: "" });
  const [fin, setFin] = useState({ amount: "", paid_by_owner_id: "", vendor: "" });
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<any>(null);
  const p = purchase.data;
  const name = (oid: number | null) => {
    if (oid === null) return t("purchases.for_everyone");
    if (oid === app.me.owner_id) return t("purchases.me");
    // the list names those who ordered; an admin also knows everyone else
    const o = p?.owners.find((x: any) => x.owner_id === oid) ?? owners.find((x) => x.owner_id === oid);
    return o ? ownerLabel(o) : t("owner.unnamed", { id: oid });
  };
  const canEdit = (it: any) => p && p.status === "OPEN" && (admin || (it.mine && p.accepting_items));

  const add = async (e: Event) => {
    e.preventDefault();
    const price = parseAmount(item.price);
    const quantity = parseAmount(item.quantity);
    if (price === null || quantity === null || !/[1-9]/.test(quantity)) {
      setStatus({ text: t("purchases.item_invalid"), kind: "bad" });
      return;
    }
    const body: Record<string, unknown> = { price, quantity };
    if (item.description.trim()) body.description = item.description.trim();
    if (admin && item.owner_id) body.owner_id = Number(item.owner_id);
    setBusy(true);
    setStatus({ text: t("common.saving") });
    try {
      const saved = await api(`/purchases/${id}/items`, { method: "POST", body, idempotencyKey: itemForm.keyFor([id, body]) });
      itemForm.done();
      setItem({ description: "", price: "", quantity: "1", owner_id: "" });
      setStatus({ text: t("purchases.item_added", { cost: money(saved.cost, app.currency) }), kind: "ok" });
      haptic("success");
      app.changed();
    } catch (err) {
      itemForm.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
      haptic("error");
    } finally {
      setBusy(false);
    }
  };
  const remove = async (it: any) => {
    setError(null);
    try {
      await api(`/purchase-items/${it.id}`, { method: "DELETE" });
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const finalize = async (e: Event) => {
    e.preventDefault();
    const amount = parseAmount(fin.amount);
    if (!amount || !/[1-9]/.test(amount)) {
      setStatus({ text: t("form.amount_invalid"), kind: "bad" });
      return;
    }
    const body: Record<string, unknown> = { amount };
    if (fin.paid_by_owner_id) body.paid_by_owner_id = Number(fin.paid_by_owner_id);
    if (fin.vendor.trim()) body.vendor = fin.vendor.trim();
    if (!window.confirm(t("purchases.confirm_finalize", { title: p.title, amount: money(amount, app.currency) }))) return;
    setBusy(true);
    setStatus({ text: t("common.saving") });
    try {
      const out = await api(`/purchases/${id}/finalize`, { method: "POST", body, idempotencyKey: finalizeForm.keyFor([id, body]) });
      finalizeForm.done();
      setResult(out);
      setStatus({ text: t("purchases.finalized", { id: out.expense_id }), kind: "ok" });
      haptic("success");
      app.changed();
    } catch (err) {
      finalizeForm.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
      haptic("error");
    } finally {
      setBusy(false);
    }
  };
  const set = (k: string) => (e: Event) => setItem({ ...item, [k]: (e.target as HTMLInputElement).value });
  const setF = (k: string) => (e: Event) => setFin({ ...fin, [k]: (e.target as HTMLInputElement).value });

  if (purchase.loading && !p) return <Loading />;
  if (!p) return <ErrorBox error={purchase.error} />;
  return (
    <>
      <Card title={p.title} id="purchase-card">
        {p.description && <p>{p.description}</p>}
        <PurchaseSummary p={p} />
        <h3>{t("purchases.subtotals")}</h3>
        <ul class="rows" id="subtotals">
          {p.owners.map((o: any) => (
            <li data-owner={o.owner_id}>
              <span>
                {name(o.owner_id)} <span class="muted">· {t("purchases.items_count", { n: o.items })}</span>
              </span>
              <span class="right">{money(o.subtotal, app.currency)}</span>
            </li>
          ))}
        </ul>
        {p.owners.length === 0 && <p class="muted">{t("purchases.no_orders")}</p>}
      </Card>
      <Card title={t("purchases.items")} id="items-card">
        <ErrorBox error={error ?? items.error} />
        <ul class="rows" id="items">
          {(items.data ?? []).map((it: any) => (
            <li data-item={it.id} class={it.mine ? "mine" : ""}>
              <span>
                {it.description || t("purchases.no_description")}
                <span class="muted block">
                  {name(it.owner_id)} · {money(it.price, app.currency)} × {it.quantity}
                </span>
              </span>
              <span class="right actions">
                {money(it.cost, app.currency)}
                {canEdit(it) && (
                  <button type="button" class="secondary small" onClick={() => remove(it)} aria-label={t("purchases.remove_item")}>
                    ×
                  </button>
                )}
              </span>
            </li>
          ))}
        </ul>
        {items.data && items.data.length === 0 && <p class="muted">{t("purchases.no_items")}</p>}
      </Card>
      {p.status === "OPEN" && (admin || p.accepting_items) && (
        <Card title={t("purchases.add_title")} id="add-item-card">
          <form id="item-form" onSubmit={add} noValidate>
            <Field id="item-description" label={t("purchases.description")} hint={t("form.optional")}>
              <input id="item-description" maxLength={500} autocomplete="off" value={item.description} onInput={set("description")} />
            </Field>
            <div class="inline-form">
              <Field id="item-price" label={t("purchases.price_in", { currency: app.currency })}>
                <input id="item-price" inputMode="decimal" autocomplete="off" value={item.price} onInput={set("price")} required />
              </Field>
              <Field id="item-quantity" label={t("purchases.quantity")}>
                <input id="item-quantity" inputMode="decimal" autocomplete="off" value={item.quantity} onInput={set("quantity")} required />
              </Field>
            </div>
            {admin && (
              <OwnerSelect id="item-owner" label={t("purchases.whose")} value={item.owner_id}
                onChange={(v) => setItem({ ...item, owner_id: v })} optional={t("purchases.for_everyone")} />
            )}
            <Submit label={t("purchases.add_submit")} busy={busy} form="item-form" />
          </form>
        </Card>
      )}
      {admin && p.status === "OPEN" && (
        <Card title={t("purchases.finalize_title")} id="finalize-card">
          <p class="muted">{t("purchases.finalize_hint")}</p>
          <form id="finalize-form" onSubmit={finalize} noValidate>
            <Field id="fin-amount" label={t("purchases.bill_in", { currency: app.currency })}>
              <input id="fin-amount" inputMode="decimal" autocomplete="off" value={fin.amount} onInput={setF("amount")} required />
            </Field>
            <OwnerSelect id="fin-payer" label={t("purchases.paid_by")} value={fin.paid_by_owner_id}
              onChange={(v) => setFin({ ...fin, paid_by_owner_id: v })} optional={t("purchases.the_fund")} />
            <Field id="fin-vendor" label={t("purchases.vendor")} hint={t("form.optional")}>
              <input id="fin-vendor" maxLength={200} autocomplete="off" value={fin.vendor} onInput={setF("vendor")} />
            </Field>
            <Submit label={t("purchases.finalize_submit")} busy={busy} form="finalize-form" />
          </form>
        </Card>
      )}
      <Status text={status.text} kind={status.kind} />
      {result && (
        <Card title={t("purchases.shares_title")} id="shares-card">
          <ul class="rows" id="shares">
            {result.shares.map((s: any) => (
              <li data-owner={s.owner_id}>
                <span>
                  {name(s.owner_id)} <span class="muted">· {t("purchases.items_sum", { amount: money(s.items, app.currency) })}</span>
                </span>
                <strong class="right">{money(s.share, app.currency)}</strong>
              </li>
            ))}
          </ul>
        </Card>
      )}
    </>
  );
}

export default defineScreen({ id: "purchase", mode: "owner", title: "screen.purchase", component: PurchaseScreen });
