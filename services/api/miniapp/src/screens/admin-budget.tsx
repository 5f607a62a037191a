// Budget items of the period: the category, the budgeted amount, how it is shared (strategy and
// its parameters), with actual and variance; add, edit (If-Match) and delete.
import { useState } from "preact/hooks";
import { api } from "../core/api";
import { useApp } from "../core/app";
import { money, parseAmount, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Amount, Card, ErrorBox, Field, Status, useLoad } from "../core/ui";
import { PeriodPicker } from "./parts";

/** Budget strategies and the parameters each needs (other capabilities add theirs here). */
export const BUDGET_STRATEGIES: Record<string, string[]> = {
  PROPORTIONAL: [],
  FIXED_FEE: [],
  USAGE_BASED: ["meter_type"],
  TARIFF: ["meter_type", "tariffs", "loss_strategy"],
  NONE: [],
};
const LOSS_STRATEGIES = ["PROPORTIONAL", "FIXED_FEE", "USAGE_BASED"];
const ZONES = ["T1", "T2", "T3"];

const EMPTY = { payment_type: "", budgeted_amount: "", allocation_strategy: "PROPORTIONAL", meter_type: "", description: "", T1: "", T2: "", T3: "", loss_strategy: "PROPORTIONAL" };

function Budget() {
  const app = useApp();
  const p = app.period;
  const items = useLoad<any[]>(() => (p ? api(`/periods/${p.id}/budget-items?limit=500`) : Promise.resolve([])), [p?.id, app.tick]);
  const [editing, setEditing] = useState<any | null>(null);
  const [form, setForm] = useState<Record<string, string>>(EMPTY);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const edit = (b: any) => {
    setEditing(b);
    setForm({
      payment_type: b.payment_type,
      budgeted_amount: b.budgeted_amount,
      allocation_strategy: b.allocation_strategy,
      meter_type: b.meter_type ?? "",
      description: b.description ?? "",
      T1: b.tariffs?.T1 ?? "",
      T2: b.tariffs?.T2 ?? "",
      T3: b.tariffs?.T3 ?? "",
      loss_strategy: b.loss_strategy ?? "PROPORTIONAL",
    });
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const amount = parseAmount(form.budgeted_amount);
    if (amount === null) {
      setStatus(t("form.amount_invalid"));
      return;
    }
    const body: Record<string, unknown> = {
      payment_type: form.payment_type.trim(),
      budgeted_amount: amount,
      allocation_strategy: form.allocation_strategy,
      meter_type: BUDGET_STRATEGIES[form.allocation_strategy]?.includes("meter_type") ? form.meter_type.trim() || null : null,
      description: form.description.trim() || null,
    };
    if (form.allocation_strategy === "TARIFF") {
      const tariffs: Record<string, string> = {};
      for (const z of ZONES) if (form[z].trim()) tariffs[z] = form[z].trim().replace(",", ".");
      body.tariffs = tariffs;
      body.loss_strategy = form.loss_strategy;
    } else if (editing?.allocation_strategy === "TARIFF") {
      body.tariffs = null;
      body.loss_strategy = null;
    }
    try {
      if (editing) await api(`/budget-items/${editing.id}`, { method: "PATCH", body, ifMatch: editing.version });
      else await api(`/periods/${p!.id}/budget-items`, { method: "POST", body });
      setStatus(t(editing ? "record.updated" : "budget.added", { name: body.payment_type as string }));
      setEditing(null);
      setForm(EMPTY);
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (b: any) => {
    if (!window.confirm(t("record.confirm_delete"))) return;
    setError(null);
    try {
      await api(`/budget-items/${b.id}`, { method: "DELETE", ifMatch: b.version });
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  if (!p) return <p class="banner">{t("dashboard.no_period")}</p>;
  return (
    <>
      <PeriodPicker />
      <Card title={t("budget.items")} id="budget-items">
        {items.data && items.data.length === 0 && <p class="muted">{t("budget.none")}</p>}
        <ul class="rows">
          {(items.data ?? []).map((b: any) => (
            <li>
              <span>
                <strong>{b.payment_type}</strong> · {t("strategy." + b.allocation_strategy)}
                {b.meter_type ? ` (${b.meter_type})` : ""}
                {b.tariffs ? " · " + Object.entries(b.tariffs).map(([z, v]) => `${z} ${v}`).join(" / ") + " · " + t("budget.loss_by", { strategy: t("strategy." + b.loss_strategy) }) : ""}
                <span class="muted block">
                  {t("budget.budgeted")} {money(b.budgeted_amount, app.currency)} · {t("budget.actual")} {money(b.actual_amount, app.currency)} ·{" "}
                  {t("budget.variance")} <Amount value={b.variance} />
                </span>
              </span>
              <span class="right actions">
                <button type="button" class="secondary small" onClick={() => edit(b)} aria-label={t("budget.edit_item", { name: b.payment_type })}>
                  {t("action.edit")}
                </button>
                <button type="button" class="danger small" onClick={() => remove(b)} aria-label={t("budget.delete_item", { name: b.payment_type })}>
                  {t("action.delete")}
                </button>
              </span>
            </li>
          ))}
        </ul>
      </Card>
      <Card title={t(editing ? "budget.edit" : "budget.add")} id="budget-form-card">
        <form id="budget-form" onSubmit={save} noValidate>
          <Field id="b-type" label={t("form.category")}>
            <input id="b-type" autocomplete="off" value={form.payment_type} onInput={set("payment_type")} required />
          </Field>
          <Field id="b-amount" label={t("form.amount_in", { currency: app.currency })}>
            <input id="b-amount" inputMode="decimal" value={form.budgeted_amount} onInput={set("budgeted_amount")} required />
          </Field>
          <Field id="b-strategy" label={t("budget.strategy")}>
            <select id="b-strategy" value={form.allocation_strategy} onChange={set("allocation_strategy")}>
              {Object.keys(BUDGET_STRATEGIES).map((s) => <option value={s}>{t("strategy." + s)}</option>)}
            </select>
          </Field>
          {BUDGET_STRATEGIES[form.allocation_strategy]?.includes("meter_type") && (
            <Field id="b-meter" label={t("form.meter_type")}>
              <input id="b-meter" autocomplete="off" value={form.meter_type} onInput={set("meter_type")} required />
            </Field>
          )}
          {form.allocation_strategy === "TARIFF" && (
            <>
              {ZONES.map((z) => (
                <Field id={`b-tariff-${z}`} label={t("budget.tariff_zone", { zone: z })} hint={z === "T1" ? undefined : t("form.optional")}>
                  <input id={`b-tariff-${z}`} inputMode="decimal" value={form[z]} onInput={set(z)} />
                </Field>
              ))}
              <Field id="b-loss" label={t("budget.loss_strategy")}>
                <select id="b-loss" value={form.loss_strategy} onChange={set("loss_strategy")}>
                  {LOSS_STRATEGIES.map((s) => <option value={s}>{t("strategy." + s)}</option>)}
                </select>
              </Field>
            </>
          )}
          <Field id="b-desc" label={t("form.description")} hint={t("form.optional")}>
            <input id="b-desc" autocomplete="off" value={form.description} onInput={set("description")} />
          </Field>
          <button type="submit" class="primary">{t(editing ? "action.save" : "budget.add_submit")}</button>
          {editing && <button type="button" class="secondary" onClick={() => { setEditing(null); setForm(EMPTY); }}>{t("action.cancel")}</button>}
          <Status text={status} kind="ok" />
          <ErrorBox error={error} onReload={() => { setEditing(null); setForm(EMPTY); app.changed(); }} />
        </form>
      </Card>
    </>
  );
}

export default defineScreen({ id: "admin-budget", mode: "admin", title: "screen.budget", tab: 6, component: Budget });
