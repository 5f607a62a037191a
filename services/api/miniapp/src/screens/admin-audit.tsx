// The audit trail of one object (GET /audit?object_type=&object_id=): who did what, when, with
// the values before and after, newest first.
import { api, ApiError } from "../core/api";
import { t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Loading, useLoad, When } from "../core/ui";

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
            <span>
              <strong>{r.action}</strong> · {r.actor}
              <span class="muted block"><When iso={r.at ?? r.created_at} /></span>
              {r.before && <code class="block">{t("audit.before")}: {JSON.stringify(r.before)}</code>}
              {r.after && <code class="block">{t("audit.after")}: {JSON.stringify(r.after)}</code>}
            </span>
          </li>
        ))}
      </ol>
      {rows.data && rows.data.length === 0 && <p class="muted">{t("audit.empty")}</p>}
    </Card>
  );
}

export default defineScreen({ id: "admin-audit", mode: "admin", title: "screen.audit", component: Audit });
