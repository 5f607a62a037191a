// Periods: create one; close, reopen and carry forward, following the job until it ends (its
// result, or the reason it failed); the period statement as PDF, XLSX or CSV.
import { useState } from "preact/hooks";
import { api, followJob, type Job } from "../core/api";
import { useApp, type Period } from "../core/app";
import { day, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Card, Downloads, ErrorBox, Field, JobProgress, Status } from "../core/ui";

function Periods() {
  const app = useApp();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [form, setForm] = useState({ name: "", start_date: "", end_date: "" });
  const [status, setStatus] = useState("");
  const [target, setTarget] = useState<Record<number, string>>({});
  const sorted = app.periods.slice().sort((a, b) => (a.start_date < b.start_date ? 1 : -1));

  const run = async (start: () => Promise<Job>) => {
    setBusy(true);
    setError(null);
    setJob(null);
    try {
      const final = await followJob(await start(), setJob);
      haptic(final.status === "SUCCEEDED" ? "success" : "error");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      await app.reloadPeriods();
      app.changed();
    }
  };
  const close = (p: Period) => {
    if (window.confirm(t("periods.confirm_close", { name: p.name }))) {
      run(() => api(`/periods/${p.id}/close`, { method: "POST" }));
    }
  };
  const carry = (p: Period) => {
    const to = Number(target[p.id]);
    if (!to) return;
    run(() => api(`/periods/carry-forward`, { method: "POST", body: { from_period_id: p.id, to_period_id: to } }));
  };
  const reopen = async (p: Period) => {
    if (!window.confirm(t("periods.confirm_reopen", { name: p.name }))) return;
    setError(null);
    try {
      await api(`/periods/${p.id}/reopen`, { method: "POST" });
      setStatus(t("periods.reopened", { name: p.name }));
      await app.reloadPeriods();
      app.changed();
    } catch (e) {
      setError(e);
    }
  };
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const p = await api<Period>("/periods", { method: "POST", body: form });
      setStatus(t("periods.created", { name: p.name }));
      setForm({ name: "", start_date: "", end_date: "" });
      await app.reloadPeriods();
      app.choosePeriod(p.id);
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <>
      <JobProgress job={job} />
      <ErrorBox error={error} />
      <Status text={status} kind="ok" />
      {sorted.map((p) => {
        const later = app.periods.filter((x) => x.start_date > p.start_date);
        return (
          <Card title={p.name} id={"period-" + p.id}>
            <p class="muted">
              {day(p.start_date)} – {day(p.end_date)} · <span class="pill" data-status={p.status}>{t("period.status." + p.status)}</span>
            </p>
            <div class="actions wrap">
              {p.status === "OPEN" && (
                <button type="button" class="primary" disabled={busy} onClick={() => close(p)} id={"close-" + p.id}>
                  {t("periods.close")}
                </button>
              )}
              {p.status === "CLOSED" && (
                <button type="button" class="secondary" disabled={busy} onClick={() => reopen(p)} id={"reopen-" + p.id}>
                  {t("periods.reopen")}
                </button>
              )}
            </div>
            {p.status === "CLOSED" && later.length > 0 && (
              <div class="inline-form">
                <Field id={"carry-to-" + p.id} label={t("periods.carry_to")}>
                  <select id={"carry-to-" + p.id} value={target[p.id] ?? ""}
                    onChange={(e) => setTarget({ ...target, [p.id]: (e.target as HTMLSelectElement).value })}>
                    <option value="">{t("periods.choose_target")}</option>
                    {later.map((x) => <option value={String(x.id)}>{x.name}</option>)}
                  </select>
                </Field>
                <button type="button" class="secondary" disabled={busy || !target[p.id]} onClick={() => carry(p)} id={"carry-" + p.id}>
                  {t("periods.carry_forward")}
                </button>
              </div>
            )}
            <Downloads path={`/periods/${p.id}/statement`} name={`period-${p.id}`} label={t("download.period_statement")} />
          </Card>
        );
      })}
      <Card title={t("periods.create")} id="new-period">
        <form id="period-form" onSubmit={create} noValidate>
          <Field id="p-name" label={t("periods.name")}>
            <input id="p-name" autocomplete="off" value={form.name} onInput={set("name")} required />
          </Field>
          <Field id="p-start" label={t("periods.start")}>
            <input id="p-start" type="date" value={form.start_date} onInput={set("start_date")} required />
          </Field>
          <Field id="p-end" label={t("periods.end")}>
            <input id="p-end" type="date" value={form.end_date} onInput={set("end_date")} required />
          </Field>
          <button type="submit" class="primary">{t("periods.create_submit")}</button>
        </form>
      </Card>
      <button type="button" class="secondary" id="open-settings" onClick={() => app.go("admin-settings")}>
        {t("screen.settings")}
      </button>
    </>
  );
}

export default defineScreen({ id: "admin-periods", mode: "admin", title: "screen.periods", tab: 5, component: Periods });
