// The community's owners: search by name, plot or Telegram, and add an owner.
import { useState } from "preact/hooks";
import { api } from "../core/api";
import { useApp } from "../core/app";
import { t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Field, ownerLabel, Status, useOwners, type OwnerRow } from "../core/ui";

/** Screens of other capabilities (plots) may add what an owner is found by. */
export const ownerSearchTerms: Array<(o: OwnerRow) => string[]> = [
  (o) => [o.name ?? "", String(o.owner_id), o.telegram_id ? String(o.telegram_id) : ""],
];

function Owners() {
  const app = useApp();
  const owners = useOwners();
  const [q, setQ] = useState("");
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState({ owner_id: "", name: "", share_weight: "1", telegram_id: "" });
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const needle = q.trim().toLowerCase();
  const found = owners.filter(
    (o) => !needle || ownerSearchTerms.some((f) => f(o).some((s) => s.toLowerCase().includes(needle))),
  );
  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const body: Record<string, unknown> = {
        owner_id: Number(form.owner_id),
        name: form.name.trim() || null,
        share_weight: form.share_weight.replace(",", ".").trim() || "1",
      };
      if (form.telegram_id.trim()) body.telegram_id = Number(form.telegram_id);
      const o = await api("/owners", { method: "POST", body });
      setStatus(t("owners.added", { name: ownerLabel(o) }));
      setForm({ owner_id: "", name: "", share_weight: "1", telegram_id: "" });
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <>
      <div class="field">
        <label for="owner-search">{t("owners.search")}</label>
        <input id="owner-search" type="search" autocomplete="off" value={q} placeholder={t("owners.search_hint")}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      </div>
      <Card title={t("owners.count", { n: found.length })} id="owners-list">
        <ul class="rows">
          {found.map((o) => (
            <li>
              <button type="button" class="link row-button" onClick={() => app.go("admin-owner", { owner_id: o.owner_id })}>
                <span>
                  {ownerLabel(o)}
                  <span class="muted block">
                    {o.owner_id} · {t(o.telegram_id ? (o.telegram_reachable ? "owners.tg_linked" : "owners.tg_blocked") : "owners.tg_none")}
                    {o.is_active ? "" : " · " + t("owners.inactive")}
                  </span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      </Card>
      {!adding && (
        <button type="button" class="secondary" id="add-owner" onClick={() => setAdding(true)}>{t("owners.add")}</button>
      )}
      {adding && (
        <Card title={t("owners.add")}>
          <form id="owner-form" onSubmit={add} noValidate>
            <Field id="o-id" label={t("owners.owner_id")} hint={t("owners.owner_id_hint")}>
              <input id="o-id" inputMode="numeric" value={form.owner_id} onInput={set("owner_id")} required />
            </Field>
            <Field id="o-name" label={t("owners.name")}>
              <input id="o-name" autocomplete="off" value={form.name} onInput={set("name")} />
            </Field>
            <Field id="o-weight" label={t("owners.share_weight")}>
              <input id="o-weight" inputMode="decimal" value={form.share_weight} onInput={set("share_weight")} />
            </Field>
            <Field id="o-tg" label={t("owners.telegram_id")} hint={t("form.optional")}>
              <input id="o-tg" inputMode="numeric" value={form.telegram_id} onInput={set("telegram_id")} />
            </Field>
            <button type="submit" class="primary">{t("owners.add_submit")}</button>
            <Status text={status} kind="ok" />
            <ErrorBox error={error} />
          </form>
        </Card>
      )}
    </>
  );
}

export default defineScreen({ id: "admin-owners", mode: "admin", title: "screen.owners", tab: 4, component: Owners });
