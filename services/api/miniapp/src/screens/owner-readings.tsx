// The owner's meters: each meter of their plots with its previous reading, a form to send this
// month's reading (inside the community's reading window; the server says when it is closed),
// and their consumption in the chosen period.
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { useApp } from "../core/app";
import { day, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Card, describe, ErrorBox, Field, Loading, Status, useLoad } from "../core/ui";
import { PeriodPicker } from "./parts";

const forms = new Map<number, IdempotentForm>();
const formOf = (id: number) => {
  if (!forms.has(id)) forms.set(id, new IdempotentForm());
  return forms.get(id)!;
};

/** "1350.5" from what a person types ("1 350,5"); null when it is not a number. */
export function parseReading(text: string): string | null {
  const v = text.replace(/[\s\u00a0]/g, "").replace(",", ".");
  return /^[0-9]+(\.[0-9]{1,4})?$/.test(v) ? v : null;
}

/** A meter type in the user's language when the catalogue knows it ("ELECTRICITY"), else as is. */
export function meterType(type: string): string {
  const key = "meter_type." + type;
  const text = t(key);
  return text === key ? type : text;
}

export function zoneName(zone: string, zones: number): string {
  return zones === 1 ? t("readings.zone_single") : t("readings.zone_" + zone);
}

function MeterForm({ meter, onSent }: { meter: any; onSent: () => void }) {
  const app = useApp();
  const previous: Record<string, string> = meter.last_reading?.values ?? meter.initial_readings;
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });
  const send = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, string> = {};
    for (const z of meter.zone_names as string[]) {
      const v = parseReading(values[z] ?? "");
      if (v === null) {
        setStatus({ text: t("readings.invalid", { zone: zoneName(z, meter.zones) }), kind: "bad" });
        return;
      }
      body[z] = v;
    }
    setBusy(true);
    setStatus({ text: t("common.saving") });
    try {
      const form = formOf(meter.id);
      const saved = await api(`/meters/${meter.id}/readings`, {
        method: "POST",
        body: { values: body },
        idempotencyKey: form.keyFor([meter.id, body]),
      });
      form.done();
      setValues({});
      const used = Object.entries(saved.consumption ?? {})
        .map(([z, v]) => `${zoneName(z, meter.zones)} ${v}`)
        .join(", ");
      setStatus({ text: t("readings.sent", { date: day(saved.reading_date), consumption: used }), kind: "ok" });
      haptic("success");
      onSent();
      app.changed();
    } catch (err) {
      formOf(meter.id).settle(err);
      setStatus({ text: describe(err), kind: "bad" });
      haptic("error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <form id={`reading-form-${meter.id}`} class="meter" onSubmit={send} noValidate>
      <h3>
        {t("readings.meter", { type: meterType(meter.meter_type), serial: meter.serial })} ·{" "}
        {t("readings.plot", { number: meter.plot_number })}
      </h3>
      <p class="muted" id={`previous-${meter.id}`}>
        {meter.last_reading
          ? t("readings.previous", { date: day(meter.last_reading.reading_date) })
          : t("readings.initial")}{" "}
        {(meter.zone_names as string[]).map((z) => `${zoneName(z, meter.zones)} ${previous[z]}`).join(" · ")}
      </p>
      {(meter.zone_names as string[]).map((z) => (
        <Field id={`m${meter.id}-${z}`} label={zoneName(z, meter.zones)}>
          <input
            id={`m${meter.id}-${z}`}
            inputMode="decimal"
            autocomplete="off"
            value={values[z] ?? ""}
            onInput={(e) => setValues({ ...values, [z]: (e.target as HTMLInputElement).value })}
            required
          />
        </Field>
      ))}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? t("common.saving") : t("readings.send")}
      </button>
      <Status text={status.text} kind={status.kind} />
    </form>
  );
}

function OwnerReadings() {
  const app = useApp();
  const p = app.period;
  const meters = useLoad<any[]>(async () => {
    const plots: any[] = await api("/plots?limit=500");
    const lists = await Promise.all(plots.map((pl) => api(`/plots/${pl.id}/meters`) as Promise<any[]>));
    return lists.flat().filter((m) => m.active);
  }, [app.tick]);
  const usage = useLoad<any>(() => (p ? api(`/periods/${p.id}/consumption`) : Promise.resolve(null)), [p?.id, app.tick]);
  const mine = usage.data?.owners?.[0];
  return (
    <>
      <Card title={t("readings.title")} id="readings-card">
        {meters.loading && !meters.data && <Loading />}
        <ErrorBox error={meters.error} />
        {meters.data && meters.data.length === 0 && <p class="muted">{t("readings.no_meters")}</p>}
        {(meters.data ?? []).map((m) => (
          <MeterForm meter={m} onSent={meters.reload} />
        ))}
      </Card>
      <PeriodPicker />
      <Card title={t("readings.consumption")} id="consumption-card">
        <ErrorBox error={usage.error} />
        {usage.data && !mine && <p class="muted">{t("readings.no_consumption")}</p>}
        {mine && (
          <ul class="rows" id="my-consumption">
            {Object.entries(mine.by_type as Record<string, any>).map(([type, c]) => (
              <li>
                <span>
                  {meterType(type)} · <strong>{t("readings.total", { total: c.total })}</strong>
                  <span class="muted block">
                    {Object.entries(c.zones as Record<string, string>)
                      .map(([z, v]) => `${t("readings.zone_" + z)} ${v}`)
                      .join(" · ")}
                  </span>
                </span>
              </li>
            ))}
          </ul>
        )}
        {mine && mine.missing_meter_ids.length > 0 && (
          <p class="banner" id="missing-mine">{t("readings.missing_mine", { n: String(mine.missing_meter_ids.length) })}</p>
        )}
      </Card>
    </>
  );
}

export default defineScreen({ id: "owner-readings", mode: "owner", title: "screen.owner_readings", tab: 2, component: OwnerReadings });
