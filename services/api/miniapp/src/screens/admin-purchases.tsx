// The treasurer's group purchases: open a list (title, deadline; the owners who linked Telegram
// hear of it), see each list live, open one to correct items and finalize it.
import { useState } from "preact/hooks";
import { api } from "../core/api";
import { useApp } from "../core/app";
import { t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Card, describe, Field, Status, Submit } from "../core/ui";
import { PurchaseList } from "./owner-purchases";
import { PeriodPicker } from "./parts";

function AdminPurchases() {
  const app = useApp();
  const p = app.period;
  const [form, setForm] = useState({ title: "", deadline: "", description: "" });
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const create = async (e: Event) => {
    e.preventDefault();
    if (!form.title.trim() || !form.deadline) {
      setStatus({ text: t("purchases.create_invalid"), kind: "bad" });
      return;
    }
    const body: Record<string, unknown> = { title: form.title.trim(), deadline: form.deadline };
    if (form.description.trim()) body.description = form.description.trim();
    setBusy(true);
    try {
      const made = await api(`/periods/${p!.id}/purchases`, { method: "POST", body });
      setForm({ title: "", deadline: "", description: "" });
      setStatus({ text: t("purchases.created", { title: made.title }), kind: "ok" });
      haptic("success");
      app.changed();
    } catch (err) {
      setStatus({ text: describe(err), kind: "bad" });
      haptic("error");
    } finally {
      setBusy(false);
    }
  };
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <>
      <PeriodPicker />
      {p && p.status === "OPEN" && (
        <Card title={t("purchases.create_title")} id="create-purchase-card">
          <form id="purchase-form" onSubmit={create} noValidate>
            <Field id="purchase-title" label={t("purchases.title")}>
              <input id="purchase-title" maxLength={200} autocomplete="off" value={form.title} onInput={set("title")} required />
            </Field>
            <Field id="purchase-deadline" label={t("purchases.deadline_label")}>
              <input id="purchase-deadline" type="date" value={form.deadline} onInput={set("deadline")} required />
            </Field>
            <Field id="purchase-description" label={t("purchases.description")} hint={t("form.optional")}>
              <input id="purchase-description" maxLength={2000} autocomplete="off" value={form.description} onInput={set("description")} />
            </Field>
            <Submit label={t("purchases.create_submit")} busy={busy} form="purchase-form" />
            <Status text={status.text} kind={status.kind} />
          </form>
        </Card>
      )}
      <PurchaseList empty={t("purchases.none_admin")} />
    </>
  );
}

export default defineScreen({ id: "admin-purchases", mode: "admin", title: "screen.purchases", tab: 9, component: AdminPurchases });
