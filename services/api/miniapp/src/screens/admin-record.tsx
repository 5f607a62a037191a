// Recording for any owner: a contribution, an expense (payer, category, split), a service charge,
// a meter reading and a transfer between owners. The same forms edit an existing document
// (PATCH with If-Match: a 412 says someone changed it and offers a reload) and delete it.
// Every money form keeps its Idempotency-Key until the write succeeds, so a double tap or a retry
// after a lost answer books it once.
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { todayISO, useApp } from "../core/app";
import { money, parseAmount, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Card, ErrorBox, Field, OwnerSelect, ownerLabel, Status, Submit, useLoad, useOwners } from "../core/ui";
import { PeriodPicker } from "./parts";

export const KINDS = ["contribution", "expense", "charge", "reading", "transfer"] as const;
export type Kind = (typeof KINDS)[number];

const PATHS: Record<Kind, { create: string; doc: string }> = {
  contribution: { create: "contributions", doc: "contributions" },
  expense: { create: "expenses", doc: "expenses" },
  charge: { create: "charges", doc: "charges" },
  reading: { create: "meter-readings", doc: "meter-readings" },
  transfer: { create: "settlements", doc: "settlements" },
};

export const OBJECT_TYPES: Record<Kind, string> = {
  contribution: "contribution",
  expense: "expense",
  charge: "service_charge",
  reading: "meter_reading",
  transfer: "settlement",
};

const MONEY_KINDS: Kind[] = ["contribution", "expense", "charge", "transfer"];
const SPLITS = ["", "PROPORTIONAL", "EQUAL", "SHARES", "PERCENTAGE", "EXACT", "NONE"];
const VALUE_SPLITS = ["SHARES", "PERCENTAGE", "EXACT"];
const forms: Record<string, IdempotentForm> = {};

function text(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}

function Record_({ params }: { params: Record<string, any> }) {
  const app = useApp();
  const owners = useOwners();
  const doc = params.doc as Record<string, any> | undefined; // editing this document
  const [kind, setKind] = useState<Kind>((params.kind as Kind) ?? "contribution");
  const [v, setV] = useState<Record<string, string>>(() => ({
    owner_id: text(doc?.owner_id ?? doc?.paid_by_owner_id ?? doc?.from_owner_id ?? params.owner_id),
    to_owner_id: text(doc?.to_owner_id),
    amount: text(doc?.amount),
    date: text(doc?.date) || "",
    comment: text(doc?.comment ?? doc?.description),
    payment_type: text(doc?.payment_type),
    vendor: text(doc?.vendor),
    meter_type: text(doc?.meter_type),
    start_reading: text(doc?.start_reading),
    end_reading: text(doc?.end_reading),
    split: text(doc?.split?.strategy),
  }));
  const [participants, setParticipants] = useState<Record<string, boolean>>(() => {
    const named = doc?.split?.owners;
    if (Array.isArray(named)) return Object.fromEntries(named.map((id: number) => [String(id), true]));
    if (named && typeof named === "object") return Object.fromEntries(Object.keys(named).map((id) => [id, true]));
    return {};
  });
  const [values, setValues] = useState<Record<string, string>>(() => {
    const named = doc?.split?.owners;
    return named && !Array.isArray(named) && typeof named === "object"
      ? Object.fromEntries(Object.entries(named).map(([k, x]) => [k, String(x)]))
      : {};
  });
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState<number | undefined>(doc?.version);
  const types = useLoad<any[]>(
    () => (app.period ? api(`/periods/${app.period.id}/budget-items?limit=500`) : Promise.resolve([])),
    [app.period?.id],
  );
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value });
  const p = app.period;
  if (!p) return <p class="banner">{t("dashboard.no_period")}</p>;
  const editing = Boolean(doc);
  const form = (forms[kind] ??= new IdempotentForm());

  const bodyOf = (): Record<string, unknown> | string => {
    const amount = parseAmount(v.amount);
    const b: Record<string, unknown> = {};
    if (v.date) b.date = v.date;
    if (kind === "reading") {
      if (!v.owner_id) return t("form.owner_required");
      b.owner_id = Number(v.owner_id);
      b.meter_type = v.meter_type.trim();
      b.start_reading = v.start_reading.replace(",", ".").trim();
      b.end_reading = v.end_reading.replace(",", ".").trim();
      if (!b.meter_type) return t("form.meter_type_required");
      if (editing) delete b.owner_id;
      return b;
    }
    if (!amount || !/[1-9]/.test(amount)) return t("form.amount_invalid");
    b.amount = amount;
    if (kind === "contribution" || kind === "charge") {
      if (!v.owner_id) return t("form.owner_required");
      b.owner_id = Number(v.owner_id);
      if (v.comment.trim()) b[kind === "charge" ? "description" : "comment"] = v.comment.trim();
    } else if (kind === "transfer") {
      if (!v.owner_id || !v.to_owner_id) return t("form.owner_required");
      b.from_owner_id = Number(v.owner_id);
      b.to_owner_id = Number(v.to_owner_id);
      if (v.comment.trim()) b.comment = v.comment.trim();
    } else {
      if (!v.payment_type.trim()) return t("form.category_required");
      b.payment_type = v.payment_type.trim();
      b.paid_by_owner_id = v.owner_id ? Number(v.owner_id) : null;
      if (v.vendor.trim()) b.vendor = v.vendor.trim();
      if (v.comment.trim()) b.description = v.comment.trim();
      if (v.split) {
        const ids = Object.keys(participants).filter((id) => participants[id]);
        if (v.split === "NONE") b.split = { strategy: "NONE" };
        else if (VALUE_SPLITS.includes(v.split)) {
          b.split = {
            strategy: v.split,
            owners: Object.fromEntries(ids.map((id) => [id, (values[id] ?? "").replace(",", ".").trim()])),
          };
        } else b.split = ids.length ? { strategy: v.split, owners: ids.map(Number) } : { strategy: v.split };
      } else if (editing) b.split = null;
    }
    return b;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const body = bodyOf();
    if (typeof body === "string") {
      setStatus({ text: body, kind: "bad" });
      return;
    }
    setBusy(true);
    setError(null);
    setStatus({ text: t("common.saving") });
    try {
      const saved = editing
        ? await api(`/${PATHS[kind].doc}/${doc!.id}`, { method: "PATCH", body, ifMatch: version })
        : await api(`/periods/${p.id}/${PATHS[kind].create}`, {
            method: "POST",
            body,
            idempotencyKey: MONEY_KINDS.includes(kind) ? form.keyFor([p.id, kind, body]) : undefined,
          });
      form.done();
      haptic("success");
      setVersion(saved?.version);
      const who = owners.find((o) => o.owner_id === Number(v.owner_id));
      setStatus({
        text: t(editing ? "record.updated" : "record.saved." + kind, {
          amount: saved?.amount ? money(saved.amount, app.currency) : "",
          owner: who ? ownerLabel(who) : "",
        }),
        kind: "ok",
      });
      if (!editing) setV({ ...v, amount: "", comment: "", vendor: "", start_reading: "", end_reading: "" });
      app.changed();
    } catch (err) {
      form.settle(err);
      haptic("error");
      setError(err);
      setStatus({ text: "" });
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!window.confirm(t("record.confirm_delete"))) return;
    setBusy(true);
    setError(null);
    try {
      await api(`/${PATHS[kind].doc}/${doc!.id}`, { method: "DELETE", ifMatch: version });
      app.changed();
      app.back();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const reload = async () => {
    // the document changed under us: read the current version from its list and start over
    const rows: any[] = await api(`/periods/${doc!.period_id}/${PATHS[kind].create}?limit=500`);
    const fresh = rows.find((r) => r.id === doc!.id);
    app.back();
    if (fresh) app.go("admin-record", { kind, doc: fresh });
  };

  const valueSplit = VALUE_SPLITS.includes(v.split);
  return (
    <>
      {!editing && <PeriodPicker />}
      {!editing && (
        <div class="segmented wrap" role="group" aria-label={t("record.kind")}>
          {KINDS.map((k) => (
            <button type="button" id={"kind-" + k} aria-pressed={kind === k} onClick={() => { setKind(k); setStatus({ text: "" }); setError(null); }}>
              {t("record.kind." + k)}
            </button>
          ))}
        </div>
      )}
      <Card title={t(editing ? "record.edit." + kind : "record.new." + kind)}>
        {p.status !== "OPEN" && <p class="banner">{t("record.period_not_open")}</p>}
        <form id="record-form" onSubmit={submit} noValidate>
          {kind === "expense" ? (
            <OwnerSelect id="f-owner" label={t("form.payer")} value={v.owner_id} optional={t("form.paid_by_fund")}
              onChange={(x) => setV({ ...v, owner_id: x })} />
          ) : !(editing && kind === "reading") ? (
            <OwnerSelect id="f-owner" label={t(kind === "transfer" ? "form.from_owner" : "form.owner")} value={v.owner_id}
              onChange={(x) => setV({ ...v, owner_id: x })} />
          ) : null}
          {kind === "transfer" && (
            <OwnerSelect id="f-to-owner" label={t("form.to_owner")} value={v.to_owner_id}
              onChange={(x) => setV({ ...v, to_owner_id: x })} />
          )}
          {kind !== "reading" && (
            <Field id="f-amount" label={t("form.amount_in", { currency: app.currency })}>
              <input id="f-amount" inputMode="decimal" autocomplete="off" value={v.amount} onInput={set("amount")} required />
            </Field>
          )}
          {kind === "expense" && (
            <>
              <Field id="f-type" label={t("form.category")}>
                <input id="f-type" list="f-types" autocomplete="off" value={v.payment_type} onInput={set("payment_type")} required />
                <datalist id="f-types">
                  {(types.data ?? []).map((b: any) => <option value={b.payment_type} />)}
                </datalist>
              </Field>
              <Field id="f-vendor" label={t("form.vendor")} hint={t("form.optional")}>
                <input id="f-vendor" autocomplete="off" value={v.vendor} onInput={set("vendor")} />
              </Field>
              <Field id="f-split" label={t("form.split")}>
                <select id="f-split" value={v.split} onChange={set("split")}>
                  {SPLITS.map((s) => <option value={s}>{t("split." + (s || "DEFAULT"))}</option>)}
                </select>
              </Field>
              {v.split && v.split !== "NONE" && (
                <fieldset class="participants">
                  <legend>{t(valueSplit ? "form.split_values" : "form.split_owners")}</legend>
                  {owners.filter((o) => o.is_active).map((o) => {
                    const id = String(o.owner_id);
                    return (
                      <div class="participant">
                        <input type="checkbox" id={"p-" + id} checked={Boolean(participants[id])}
                          onChange={(e) => setParticipants({ ...participants, [id]: (e.target as HTMLInputElement).checked })} />
                        <label for={"p-" + id}>{ownerLabel(o)}</label>
                        {valueSplit && participants[id] && (
                          <input id={"pv-" + id} aria-label={t("form.split_value_for", { owner: ownerLabel(o) })} inputMode="decimal"
                            value={values[id] ?? ""} onInput={(e) => setValues({ ...values, [id]: (e.target as HTMLInputElement).value })} />
                        )}
                      </div>
                    );
                  })}
                </fieldset>
              )}
            </>
          )}
          {kind === "reading" && (
            <>
              <Field id="f-meter" label={t("form.meter_type")}>
                <input id="f-meter" autocomplete="off" value={v.meter_type} onInput={set("meter_type")} list="f-meters" required />
                <datalist id="f-meters">
                  {(types.data ?? []).filter((b: any) => b.meter_type).map((b: any) => <option value={b.meter_type} />)}
                </datalist>
              </Field>
              <Field id="f-start" label={t("form.start_reading")}>
                <input id="f-start" inputMode="decimal" autocomplete="off" value={v.start_reading} onInput={set("start_reading")} required />
              </Field>
              <Field id="f-end" label={t("form.end_reading")}>
                <input id="f-end" inputMode="decimal" autocomplete="off" value={v.end_reading} onInput={set("end_reading")} required />
              </Field>
            </>
          )}
          <Field id="f-date" label={t("form.date")} hint={t("form.date_hint")}>
            <input id="f-date" type="date" value={v.date} min={p.start_date} max={p.end_date} onInput={set("date")}
              placeholder={todayISO()} />
          </Field>
          {kind !== "reading" && (
            <Field id="f-comment" label={t(kind === "contribution" || kind === "transfer" ? "form.comment" : "form.description")} hint={t("form.optional")}>
              <input id="f-comment" autocomplete="off" maxLength={2000} value={v.comment} onInput={set("comment")} />
            </Field>
          )}
          <Submit label={t(editing ? "action.save" : "record.submit." + kind)} busy={busy} form="record-form" />
          <Status text={status.text} kind={status.kind} />
          <ErrorBox error={error} onReload={editing ? reload : undefined} />
        </form>
        {editing && (
          <div class="actions">
            <button type="button" class="danger" id="delete" onClick={remove} disabled={busy}>{t("action.delete")}</button>
            <button type="button" class="secondary" id="history" onClick={() => app.go("admin-audit", { object_type: OBJECT_TYPES[kind], object_id: doc!.id })}>
              {t("action.history")}
            </button>
          </div>
        )}
      </Card>
    </>
  );
}

export default defineScreen({ id: "admin-record", mode: "admin", title: "screen.record", tab: 2, component: Record_ });
