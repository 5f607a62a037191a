// The village as it is: plots with their owners' fractions, each plot's meters (add one; a
// replaced meter is deactivated and the new one added), and the readings of the chosen period
// with the meters that still lack one; the treasurer records any reading, an estimate included.
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { useApp } from "../core/app";
import { day, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, describe, ErrorBox, Field, Loading, Status, useLoad } from "../core/ui";
import { meterType, parseReading, zoneName } from "./owner-readings";
import { PeriodPicker } from "./parts";

const plotForm = new IdempotentForm();
const meterForm = new IdempotentForm();
const readingForm = new IdempotentForm();

/** "101:1/2, 102" -> [{owner_id: 101, fraction: "1/2"}, {owner_id: 102}]; null when unreadable. */
export function parseOwners(text: string): { owner_id: number; fraction?: string }[] | null {
  const parts = text.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean);
  const out: { owner_id: number; fraction?: string }[] = [];
  for (const part of parts) {
    const m = /^([0-9]+)\s*(?::\s*([0-9]+(?:[.,][0-9]+)?(?:\/[0-9]+)?))?$/.exec(part);
    if (!m) return null;
    out.push(m[2] ? { owner_id: Number(m[1]), fraction: m[2].replace(",", ".") } : { owner_id: Number(m[1]) });
  }
  return out;
}

function Meters({ plot }: { plot: any }) {
  const app = useApp();
  const meters = useLoad<any[]>(() => api(`/plots/${plot.id}/meters`), [plot.id, app.tick]);
  const [form, setForm] = useState({ meter_type: "ELECTRICITY", serial: "", zones: "1" });
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const add = async (e: Event) => {
    e.preventDefault();
    const body = { meter_type: form.meter_type.trim(), serial: form.serial.trim(), zones: Number(form.zones) };
    try {
      await api(`/plots/${plot.id}/meters`, { method: "POST", body, idempotencyKey: meterForm.keyFor([plot.id, body]) });
      meterForm.done();
      setForm({ ...form, serial: "" });
      setStatus({ text: t("plots.meter_added", { serial: body.serial }), kind: "ok" });
      app.changed();
    } catch (err) {
      meterForm.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
    }
  };
  const retire = async (m: any) => {
    try {
      await api(`/meters/${m.id}`, { method: "PATCH", body: { active: false }, ifMatch: m.version });
      app.changed();
    } catch (err) {
      setStatus({ text: describe(err), kind: "bad" });
    }
  };
  return (
    <div class="meters" id={`meters-${plot.id}`}>
      <ErrorBox error={meters.error} />
      <ul class="rows">
        {(meters.data ?? []).map((m) => (
          <li>
            <span>
              {meterType(m.meter_type)} {m.serial} · {t("plots.zones", { n: String(m.zones) })}
              <span class="muted block">
                {m.last_reading
                  ? `${t("readings.previous", { date: day(m.last_reading.reading_date) })} ${Object.values(m.last_reading.values).join(" / ")}`
                  : t("readings.initial") + " " + Object.values(m.initial_readings).join(" / ")}
                {m.active ? "" : " · " + t("plots.inactive")}
              </span>
            </span>
            {m.active && (
              <button type="button" class="secondary small right" onClick={() => retire(m)} aria-label={t("plots.retire_meter", { serial: m.serial })}>
                {t("plots.retire")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form id={`meter-form-${plot.id}`} onSubmit={add} noValidate class="inline-form">
        <Field id={`mt-${plot.id}`} label={t("form.meter_type")}>
          <input id={`mt-${plot.id}`} value={form.meter_type} onInput={(e) => setForm({ ...form, meter_type: (e.target as HTMLInputElement).value })} />
        </Field>
        <Field id={`ms-${plot.id}`} label={t("plots.serial")}>
          <input id={`ms-${plot.id}`} autocomplete="off" value={form.serial} onInput={(e) => setForm({ ...form, serial: (e.target as HTMLInputElement).value })} />
        </Field>
        <Field id={`mz-${plot.id}`} label={t("plots.zones_label")}>
          <select id={`mz-${plot.id}`} value={form.zones} onChange={(e) => setForm({ ...form, zones: (e.target as HTMLSelectElement).value })}>
            {["1", "2", "3"].map((z) => <option value={z}>{t("plots.zones", { n: z })}</option>)}
          </select>
        </Field>
        <button type="submit" class="secondary">{t("plots.add_meter")}</button>
        <Status text={status.text} kind={status.kind} />
      </form>
    </div>
  );
}

function RecordReading({ meters }: { meters: any[] }) {
  const app = useApp();
  const [meterId, setMeterId] = useState<string>("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [estimated, setEstimated] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const meter = meters.find((m) => String(m.meter_id) === meterId) ?? meters.find((m) => m.missing) ?? meters[0];
  if (!meter) return null;
  const zones: string[] = Object.keys(meter.previous);
  const save = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, string> = {};
    for (const z of zones) {
      const v = parseReading(values[z] ?? "");
      if (v === null) {
        setStatus({ text: t("readings.invalid", { zone: zoneName(z, zones.length) }), kind: "bad" });
        return;
      }
      body[z] = v;
    }
    const p = app.period!;
    const today = new Date().toISOString().slice(0, 10);
    const date = today < p.start_date || today > p.end_date ? p.end_date : today;
    const payload = { values: body, estimated, reading_date: date };
    try {
      await api(`/meters/${meter.meter_id}/readings`, { method: "POST", body: payload, idempotencyKey: readingForm.keyFor([meter.meter_id, payload]) });
      readingForm.done();
      setValues({});
      setStatus({ text: t("plots.reading_saved", { serial: meter.serial }), kind: "ok" });
      app.changed();
    } catch (err) {
      readingForm.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
    }
  };
  return (
    <form id="admin-reading-form" onSubmit={save} noValidate>
      <Field id="ar-meter" label={t("plots.meter")}>
        <select id="ar-meter" value={String(meter.meter_id)} onChange={(e) => { setMeterId((e.target as HTMLSelectElement).value); setValues({}); }}>
          {meters.map((m) => (
            <option value={String(m.meter_id)}>
              {t("readings.plot", { number: m.plot_number })} · {meterType(m.meter_type)} {m.serial}
              {m.missing ? " · " + t("plots.missing") : ""}
            </option>
          ))}
        </select>
      </Field>
      {zones.map((z) => (
        <Field id={`ar-${z}`} label={`${zoneName(z, zones.length)} (${t("plots.previous_value", { value: meter.previous[z] })})`}>
          <input id={`ar-${z}`} inputMode="decimal" autocomplete="off" value={values[z] ?? ""} onInput={(e) => setValues({ ...values, [z]: (e.target as HTMLInputElement).value })} />
        </Field>
      ))}
      <div class="field inline">
        <input id="ar-estimated" type="checkbox" checked={estimated} onChange={(e) => setEstimated((e.target as HTMLInputElement).checked)} />
        <label for="ar-estimated">{t("plots.estimated")}</label>
      </div>
      <button type="submit" class="primary">{t("plots.save_reading")}</button>
      <Status text={status.text} kind={status.kind} />
    </form>
  );
}

function Plots() {
  const app = useApp();
  const p = app.period;
  const plots = useLoad<any[]>(() => api("/plots?limit=500"), [app.tick]);
  const usage = useLoad<any>(() => (p ? api(`/periods/${p.id}/consumption`) : Promise.resolve(null)), [p?.id, app.tick]);
  const [open, setOpen] = useState<number | null>(null);
  const [form, setForm] = useState({ number: "", area: "", owners: "" });
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const add = async (e: Event) => {
    e.preventDefault();
    const owners = parseOwners(form.owners);
    if (owners === null) {
      setStatus({ text: t("plots.owners_invalid"), kind: "bad" });
      return;
    }
    const body = { number: form.number.trim(), area: form.area.trim().replace(",", "."), owners };
    try {
      await api("/plots", { method: "POST", body, idempotencyKey: plotForm.keyFor(body) });
      plotForm.done();
      setForm({ number: "", area: "", owners: "" });
      setStatus({ text: t("plots.added", { number: body.number }), kind: "ok" });
      app.changed();
    } catch (err) {
      plotForm.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
    }
  };
  const u = usage.data;
  return (
    <>
      <PeriodPicker />
      <Card title={t("plots.readings_title")} id="period-readings">
        {usage.loading && !u && <Loading />}
        <ErrorBox error={usage.error} />
        {u && (
          <>
            <p class="muted" id="readings-summary">
              {t("plots.readings_summary", { have: String(u.meters.length - u.missing.length), all: String(u.meters.length) })}
            </p>
            {u.missing.length > 0 && (
              <>
                <h3>{t("plots.who_is_missing")}</h3>
                <ul class="rows" id="missing-readings">
                  {u.missing.map((m: any) => (
                    <li>
                      <span>
                        {t("readings.plot", { number: m.plot_number })} · {meterType(m.meter_type)} {m.serial}
                        <span class="muted block">{m.owners.map((o: any) => o.name ?? String(o.owner_id)).join(", ") || t("plots.no_owners")}</span>
                      </span>
                    </li>
                  ))}
                </ul>
              </>
            )}
            <ul class="rows" id="period-readings-list">
              {u.meters.filter((m: any) => !m.missing).map((m: any) => (
                <li>
                  <span>
                    {t("readings.plot", { number: m.plot_number })} · {meterType(m.meter_type)} {m.serial}
                    {m.estimated ? " · " + t("plots.estimated_mark") : ""}
                    <span class="muted block">
                      {Object.entries(m.consumption as Record<string, string>).map(([z, v]) => `${zoneName(z, m.zones)} ${v}`).join(" · ")}
                    </span>
                  </span>
                </li>
              ))}
            </ul>
            {p?.status === "OPEN" && <RecordReading meters={u.meters} />}
          </>
        )}
      </Card>
      <Card title={t("plots.title")} id="plots-card">
        {plots.loading && !plots.data && <Loading />}
        <ErrorBox error={plots.error} />
        {plots.data && plots.data.length === 0 && <p class="muted">{t("plots.none")}</p>}
        <ul class="rows" id="plots-list">
          {(plots.data ?? []).map((pl) => (
            <li class="block">
              <button type="button" class="link" aria-expanded={open === pl.id} onClick={() => setOpen(open === pl.id ? null : pl.id)}>
                {t("readings.plot", { number: pl.number })} · {t("plots.area", { area: pl.area })}
                {pl.active ? "" : " · " + t("plots.inactive")}
              </button>
              <span class="muted block">
                {pl.owners.map((o: any) => `${o.name ?? o.owner_id} (${o.fraction})`).join(", ") || t("plots.no_owners")}
              </span>
              {open === pl.id && <Meters plot={pl} />}
            </li>
          ))}
        </ul>
      </Card>
      <Card title={t("plots.add")} id="plot-form-card">
        <form id="plot-form" onSubmit={add} noValidate>
          <Field id="pl-number" label={t("plots.number")}>
            <input id="pl-number" autocomplete="off" value={form.number} onInput={(e) => setForm({ ...form, number: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field id="pl-area" label={t("plots.area_label")}>
            <input id="pl-area" inputMode="decimal" value={form.area} onInput={(e) => setForm({ ...form, area: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field id="pl-owners" label={t("plots.owners_label")} hint={t("plots.owners_hint")}>
            <input id="pl-owners" autocomplete="off" value={form.owners} onInput={(e) => setForm({ ...form, owners: (e.target as HTMLInputElement).value })} />
          </Field>
          <button type="submit" class="primary">{t("plots.add_submit")}</button>
          <Status text={status.text} kind={status.kind} />
        </form>
      </Card>
    </>
  );
}

export default defineScreen({ id: "admin-plots", mode: "admin", title: "screen.plots", tab: 7, component: Plots });
