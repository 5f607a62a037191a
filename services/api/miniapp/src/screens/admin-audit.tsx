// The audit trail of one object (GET /audit?object_type=&object_id=): who did what and when, and
// what changed (the fields whose values differ; amounts in money), newest first.
import { api, ApiError } from "../core/api";
import { useApp } from "../core/app";
import { day, fromMinor, money, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Loading, useLoad, When } from "../core/ui";

// bookkeeping columns that change with every write and say nothing to the treasurer
const HIDDEN = new Set(["id", "version", "created_at", "updated_at", "created_by", "community_id", "owner_pk", "period_id", "opening_from_period_id"]);
const FIELDS = ["amount", "date", "comment", "description", "vendor", "payment_type", "split", "deleted_at", "name", "share_weight", "language", "status", "telegram_id"];

function show(key: string, value: unknown, currency: string): string {
  if (value === null || value === undefined || value === "") return "—";
  if (key.endsWith("_minor") && (typeof value === "number" || typeof value === "string")) {
    return money(fromMinor(BigInt(value), currency), currency);
  }
  if (key === "date" && typeof value === "string") return day(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function label(key: string): string {
  const base = key.replace(/_minor$/, "");
  return FIELDS.includes(base) ? t("audit.field." + base) : base;
}

function Changes({ before, after }: { before: Record<string, unknown> | null; after: Record<string, unknown> | null }) {
  const app = useApp();
  const keys = Array.from(new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])).filter(
    (k) => !HIDDEN.has(k) && JSON.stringify(before?.[k]) !== JSON.stringify(after?.[k]),
  );
  if (keys.length === 0) return null;
  return (
    <dl class="breakdown changes">
      {keys.map((k) => (
        <>
          <dt>{label(k)}</dt>
          <dd>
            {before ? show(k, before[k], app.currency) + " → " : ""}
            {after ? show(k, after[k], app.currency) : t("audit.removed")}
          </dd>
        </>
      ))}
    </dl>
  );
}

function Audit({ params }: { params: Record<string, any> }) {
  const q = `object_type=${encodeURIComponent(params.object_type)}&object_id=${encodeURIComponent(params.object_id)}`;
  const rows = useLoad<any[]>(() => api(`/audit?${q}&limit=100`), [q]);
  const missing = rows.error instanceof ApiError && (rows.error.status === 404 || rows.error.status === 405);
  return (
    <Card title={t("audit.of", { type: t("audit.type." + params.object_type), id: params.object_id })} id="audit">
      {rows.loading && <Loading />}
      {missing ? <p class="muted">{t("audit.unavailable")}</p> : <ErrorBox error={rows.error} />}
      <ol class="rows audit">
        {(rows.data ?? []).map((r: any) => (
          <li>
            <strong>{r.action}</strong> · {r.actor}
            <span class="muted block">
              <When iso={r.at} />
            </span>
            <Changes before={r.before} after={r.after} />
          </li>
        ))}
      </ol>
      {rows.data && rows.data.length === 0 && <p class="muted">{t("audit.empty")}</p>}
    </Card>
  );
}

export default defineScreen({ id: "admin-audit", mode: "admin", title: "screen.audit", component: Audit });
