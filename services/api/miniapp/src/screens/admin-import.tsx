// The bank import, the treasurer's side (SPEC §4b): upload last month's statement (1C, camt.053,
// CSV with its column mapping), follow the job, read its counts, then work the lines that did not
// book themselves: assign a payment to an owner found by name or id (and remember the payer),
// book a waiting bank debit as an expense of a category, or set a line aside.
import { useState } from "preact/hooks";
import { api, followJob, IdempotentForm, upload, type Job } from "../core/api";
import { useApp } from "../core/app";
import { day, money, serverText, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Field, JobProgress, ownerLabel, Status, useLoad, useOwners } from "../core/ui";

const STATUSES = ["UNMATCHED", "WAITING", "BOOKED", "DUPLICATE", "IGNORED"];
const COUNTS = ["lines", "credits", "debits", "new", "duplicates", "booked", "unmatched", "waiting"];
const MAPPING_EXAMPLE =
  '{"date": "Дата операции", "amount": "Сумма", "payer": "Контрагент", "account": "Счёт контрагента", "purpose": "Назначение платежа"}';

function Counts({ imp }: { imp: any }) {
  return (
    <dl class="counts" id="import-counts">
      {COUNTS.map((k) => (
        <div>
          <dt>{t("bank_import.count." + k)}</dt>
          <dd data-count={k}>{imp[k]}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The owner a search text names: "Name · 17" (a datalist choice) or an owner id typed in. */
function ownerFrom(text: string, owners: { owner_id: number; name: string | null }[]): number | null {
  const m = /(\d+)\s*$/.exec(text.trim());
  if (m) return Number(m[1]);
  const wanted = text.trim().toLocaleLowerCase().replace(/ё/g, "е");
  const hits = owners.filter((o) => (o.name ?? "").toLocaleLowerCase().replace(/ё/g, "е") === wanted);
  return hits.length === 1 ? hits[0].owner_id : null;
}

function Line({ line, importId }: { line: any; importId: number }) {
  const app = useApp();
  const owners = useOwners();
  const [who, setWho] = useState("");
  const [type, setType] = useState("");
  const [remember, setRemember] = useState(true);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [form] = useState(() => new IdempotentForm());
  const credit = line.direction === "CREDIT";
  const open = line.status === "UNMATCHED" || line.status === "WAITING";
  const assign = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body: Record<string, unknown> = { remember };
    if (credit) {
      const id = ownerFrom(who, owners);
      if (id === null) {
        setStatus(t("bank_import.pick_owner"));
        return;
      }
      body.owner_id = id;
    } else {
      if (!type.trim()) {
        setStatus(t("bank_import.pick_category"));
        return;
      }
      body.payment_type = type.trim();
    }
    try {
      await api(`/imports/${importId}/lines/${line.id}/assign`, { method: "POST", body, idempotencyKey: form.keyFor(body) });
      form.done();
      app.changed();
    } catch (err) {
      form.settle(err);
      setError(err);
    }
  };
  const ignore = async () => {
    setError(null);
    try {
      await api(`/imports/${importId}/lines/${line.id}/ignore`, { method: "POST" });
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const party = credit ? line.payer_name : line.payee_name;
  return (
    <li class="import-line" data-line={line.id} data-status={line.status}>
      <div class="grow">
        <strong>{money(line.amount, app.currency)}</strong> · {day(line.date)} · {t("bank_import.direction." + line.direction)}
        <span class="block">{party ?? t("bank_import.no_name")}</span>
        {line.purpose && <span class="muted block">{line.purpose}</span>}
        {line.owner_id && <span class="block">→ {line.owner_name ?? line.owner_id} ({t("bank_import.by." + (line.matched_by ?? "ASSIGNED"))})</span>}
        {line.payment_type && <span class="block">→ {line.payment_type}</span>}
        {line.note && <span class="muted block">{serverText(line.note)}</span>}
        {open && (
          <form class="assign" onSubmit={assign} noValidate>
            {credit ? (
              <Field id={`who-${line.id}`} label={t("bank_import.owner")}>
                <input id={`who-${line.id}`} list="import-owners" autocomplete="off" value={who} placeholder={t("bank_import.owner_hint")} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
              </Field>
            ) : (
              <Field id={`type-${line.id}`} label={t("bank_import.category")}>
                <input id={`type-${line.id}`} autocomplete="off" value={type} onInput={(e) => setType((e.target as HTMLInputElement).value)} />
              </Field>
            )}
            <label class="check">
              <input type="checkbox" checked={remember} onChange={(e) => setRemember((e.target as HTMLInputElement).checked)} /> {t("bank_import.remember")}
            </label>
            <button type="submit" class="primary small">{t("bank_import.assign")}</button>
            <button type="button" class="secondary small" onClick={ignore}>{t("bank_import.ignore")}</button>
            <Status text={status} kind="bad" />
            <ErrorBox error={error} />
          </form>
        )}
      </div>
      <span class={"tag status-" + line.status}>{t("bank_import.status." + line.status)}</span>
    </li>
  );
}

function Lines({ importId }: { importId: number }) {
  const app = useApp();
  const owners = useOwners();
  const [filter, setFilter] = useState("UNMATCHED");
  const lines = useLoad<any[]>(() => api(`/imports/${importId}/lines?limit=500${filter ? "&status=" + filter : ""}`), [importId, filter, app.tick]);
  return (
    <Card title={t("bank_import.lines")} id="import-lines">
      <div class="chips" role="group" aria-label={t("bank_import.filter")}>
        {[...STATUSES, ""].map((s) => (
          <button type="button" class={"chip" + (s === filter ? " active" : "")} aria-pressed={s === filter} data-filter={s || "ALL"} onClick={() => setFilter(s)}>
            {t(s ? "bank_import.status." + s : "bank_import.all")}
          </button>
        ))}
      </div>
      <datalist id="import-owners">
        {owners.filter((o) => o.is_active).map((o) => <option value={`${ownerLabel(o)} · ${o.owner_id}`} />)}
      </datalist>
      {lines.data && lines.data.length === 0 && <p class="muted">{t("bank_import.no_lines")}</p>}
      <ul class="rows">{(lines.data ?? []).map((line: any) => <Line line={line} importId={importId} />)}</ul>
      <ErrorBox error={lines.error} />
    </Card>
  );
}

function BankImport() {
  const app = useApp();
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState("");
  const [mapping, setMapping] = useState("");
  const [job, setJob] = useState<Job | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const imports = useLoad<any[]>(() => api("/imports?limit=20"), [app.tick]);
  const current = selected ?? imports.data?.[0]?.id ?? null;
  const chosen = (imports.data ?? []).find((i: any) => i.id === current);
  const send = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setBusy(true);
    try {
      const form = new FormData();
      form.append("file", file, file.name);
      if (format) form.append("format", format);
      if (mapping.trim()) form.append("mapping", mapping.trim());
      const started = await upload<Job>("/imports", form);
      const final = await followJob(started, setJob);
      if (final.status === "SUCCEEDED" && final.result) setSelected(Number(final.result.import_id));
      app.changed();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Card title={t("bank_import.upload")} id="import-upload">
        <form id="import-form" onSubmit={send} noValidate>
          <Field id="imp-file" label={t("bank_import.file")} hint={t("bank_import.file_hint")}>
            <input id="imp-file" type="file" accept=".txt,.xml,.csv,text/plain,text/csv,application/xml" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          </Field>
          <Field id="imp-format" label={t("bank_import.format")}>
            <select id="imp-format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>
              <option value="">{t("bank_import.format.auto")}</option>
              {["1c", "camt053", "csv"].map((f) => <option value={f}>{t("bank_import.format." + f)}</option>)}
            </select>
          </Field>
          {format === "csv" && (
            <Field id="imp-mapping" label={t("bank_import.mapping")} hint={t("bank_import.mapping_hint")}>
              <textarea id="imp-mapping" rows={3} value={mapping} placeholder={MAPPING_EXAMPLE} onInput={(e) => setMapping((e.target as HTMLTextAreaElement).value)} />
            </Field>
          )}
          <button type="submit" class="primary" disabled={!file || busy}>{t("bank_import.send")}</button>
          <JobProgress job={job} />
          <ErrorBox error={error} />
        </form>
      </Card>
      {(imports.data ?? []).length > 0 && (
        <Card title={t("bank_import.imports")} id="import-list">
          <ul class="rows">
            {(imports.data ?? []).map((i: any) => (
              <li class="import-file">
                <button type="button" class={"link" + (i.id === current ? " active" : "")} aria-pressed={i.id === current} onClick={() => setSelected(i.id)}>
                  {i.file_name}
                </button>
                <span class="muted block">
                  {day(i.created_at)} · {t("bank_import.summary", { booked: i.booked, lines: i.lines, unmatched: i.unmatched })}
                </span>
              </li>
            ))}
          </ul>
          {chosen && <Counts imp={chosen} />}
        </Card>
      )}
      {current !== null && <Lines importId={current} />}
    </>
  );
}

export default defineScreen({ id: "admin-import", mode: "admin", title: "screen.bank_import", tab: 8, component: BankImport });
