// Small shared pieces: loading data, showing errors in the user's language, amounts, form fields,
// the submit bar (in-page button + Telegram's Main Button), downloads and a job's progress.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { all, ApiError, download, type Job } from "./api";
import { useApp } from "./app";
import { money, moment, serverText, t } from "./i18n";
import { setMainButton } from "./telegram";

export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    let alive = true;
    setLoading(true);
    fn().then(
      (d) => {
        if (!alive) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (!alive) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      alive = false;
    };
  }, [...deps, n]);
  return { data, error, loading, reload: () => setN((x) => x + 1) };
}

/** An error as a sentence in the user's language, with the server's own detail after it. */
export function describe(err: unknown): string {
  if (!(err instanceof ApiError)) return t("error.unexpected");
  const detail = serverText(err.message); // the server's sentence, in the user's language
  if (err.status === 0) return t("error.network");
  if (err.status === 401) {
    return /stale/i.test(err.message) ? t("error.expired") : t("error.signin", { detail });
  }
  const lead: Record<number, string> = {
    400: "error.invalid",
    403: "error.forbidden",
    404: "error.not_found",
    409: "error.conflict",
    412: "error.stale_version",
    413: "error.invalid",
    422: "error.invalid",
    429: "error.busy",
    503: "error.busy",
  };
  const key = lead[err.status] ?? "error.server";
  return detail ? `${t(key)} ${detail}` : t(key);
}

export function ErrorBox({ error, onReload }: { error: unknown; onReload?: () => void }) {
  if (!error) return null;
  const stale = error instanceof ApiError && error.status === 412;
  return (
    <div class="banner error" role="alert">
      <p>{describe(error)}</p>
      {stale && onReload && (
        <button type="button" class="secondary" onClick={onReload}>
          {t("action.reload")}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" role="status">
      {t("common.loading")}
    </p>
  );
}

export function sign(amount: string): number {
  const text = String(amount);
  if (!/[1-9]/.test(text)) return 0;
  return text.startsWith("-") ? -1 : 1;
}

export function Amount({ value, currency, strong }: { value: string; currency?: string; strong?: boolean }) {
  const app = useApp();
  const s = sign(value);
  const cls = (s > 0 ? "credit" : s < 0 ? "debt" : "zero") + (strong ? " amount" : "");
  return <span class={cls}>{money(value, currency ?? app.currency)}</span>;
}

export function Card({ title, children, id }: { title?: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={id} aria-label={title}>
      {title && <h2>{title}</h2>}
      {children}
    </section>
  );
}

export function Field({
  id,
  label,
  hint,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={id}>
        {label}
        {hint && <span class="muted"> {hint}</span>}
      </label>
      {children}
    </div>
  );
}

/** The form's submit: a real button in the page (keyboard, plain browser) and, inside Telegram,
 * the Main Button doing the same. */
export function Submit({ label, busy, form }: { label: string; busy: boolean; form: string }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    setMainButton(label, () => ref.current?.click(), busy);
    return () => setMainButton(null);
  }, [label, busy]);
  return (
    <button ref={ref} type="submit" form={form} disabled={busy} class="primary">
      {busy ? t("common.saving") : label}
    </button>
  );
}

export function Status({ text, kind }: { text: string; kind?: "ok" | "bad" }) {
  return (
    <p class={"status" + (kind ? " " + kind : "")} role="status" aria-live="polite">
      {text}
    </p>
  );
}

export function Downloads({ path, name, label }: { path: string; name: string; label: string }) {
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState("");
  const get = async (fmt: string) => {
    setError(null);
    try {
      setSaved(await download(`${path}?format=${fmt}`, `${name}.${fmt}`));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="downloads" role="group" aria-label={label}>
      <span class="muted">{label}</span>
      {["pdf", "xlsx", "csv"].map((fmt) => (
        <button type="button" class="secondary small" onClick={() => get(fmt)} data-format={fmt}>
          {fmt.toUpperCase()}
        </button>
      ))}
      {saved && <Status text={t("download.saved", { name: saved })} kind="ok" />}
      <ErrorBox error={error} />
    </div>
  );
}

export function JobProgress({ job }: { job: Job | null }) {
  if (!job) return null;
  const done = job.status === "SUCCEEDED";
  const failed = job.status === "FAILED";
  return (
    <div class={"job " + job.status.toLowerCase()} role="status" aria-live="polite" data-testid="job">
      <p>
        <strong>{t("job.kind." + job.kind.toLowerCase())}</strong>: {t("job.status." + job.status)}
        {!done && !failed && <span class="spinner" aria-hidden="true" />}
      </p>
      {failed && job.error && <p class="bad">{t("job.failed_reason", { reason: serverText(job.error) })}</p>}
      {done && typeof job.result?.message === "string" && <p>{serverText(job.result.message as string)}</p>}
    </div>
  );
}

export interface OwnerRow {
  owner_id: number;
  name: string | null;
  share_weight: string;
  telegram_id: number | null;
  language: string | null;
  is_active: boolean;
  telegram_reachable: boolean;
  created_at: string;
  version?: number;
}

export function ownerLabel(o: { owner_id: number; name: string | null }): string {
  return o.name ? o.name : t("owner.unnamed", { id: o.owner_id });
}

let ownersCache: { tick: number; rows: Promise<OwnerRow[]> } | null = null;

/** Every owner of the community (cached until the next write). */
export function useOwners(): OwnerRow[] {
  const app = useApp();
  if (!ownersCache || ownersCache.tick !== app.tick) {
    ownersCache = { tick: app.tick, rows: all<OwnerRow>("/owners", (o) => o.owner_id) };
  }
  const { data } = useLoad(() => ownersCache!.rows, [app.tick]);
  return data ?? [];
}

export function OwnerSelect({
  id,
  value,
  onChange,
  label,
  optional,
}: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  label: string;
  optional?: string;
}) {
  const owners = useOwners();
  return (
    <Field id={id} label={label}>
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">{optional ?? t("form.choose_owner")}</option>
        {owners
          .filter((o) => o.is_active)
          .map((o) => (
            <option value={String(o.owner_id)}>
              {ownerLabel(o)} · {o.owner_id}
            </option>
          ))}
      </select>
    </Field>
  );
}

export function When({ iso }: { iso: string }) {
  return <time dateTime={iso}>{moment(iso)}</time>;
}
