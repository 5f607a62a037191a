// One owner's card: balance in the chosen period, share weight, Telegram link state with a /start
// link (copyable and as a QR code made in the page), the statement with invoices and downloads,
// buttons to record for this owner, and the owner's history.
import qrcode from "qrcode-generator";
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { useApp } from "../core/app";
import { day, money, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Amount, Card, ErrorBox, Field, Loading, ownerLabel, Status, useLoad } from "../core/ui";
import { KINDS } from "./admin-record";
import { Statement } from "./owner-home";

function qrDataUrl(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createDataURL(4, 8);
}

const sending = new IdempotentForm();

function OwnerCard({ params }: { params: Record<string, any> }) {
  const app = useApp();
  const id = Number(params.owner_id);
  const owner = useLoad<any>(() => api(`/owners/${id}`), [id, app.tick]);
  const p = app.period;
  const balance = useLoad<any>(() => (p ? api(`/periods/${p.id}/balances/${id}`) : Promise.resolve(null)), [p?.id, id, app.tick]);
  const statement = useLoad<any>(() => api(`/owners/${id}/statement`), [id, app.tick]);
  const [link, setLink] = useState<{ deep_link: string; expires_at: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState("");
  const [weight, setWeight] = useState<string | null>(null);
  const [saved, setSaved] = useState("");
  const [sent, setSent] = useState("");

  const sendStatement = async () => {
    setError(null);
    setSent("");
    try {
      await api(`/owners/${id}/statement/send`, { method: "POST", idempotencyKey: sending.keyFor(["statement", id]) });
      sending.done();
      setSent(t("owner_card.statement_sent"));
    } catch (e) {
      sending.settle(e);
      setError(e);
    }
  };

  const issue = async () => {
    setError(null);
    try {
      setLink(await api(`/owners/${id}/link-token`, { method: "POST" }));
    } catch (e) {
      setError(e);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link!.deep_link);
      setCopied(t("owner_card.copied"));
    } catch {
      const input = document.getElementById("start-link") as HTMLInputElement | null;
      input?.select();
      setCopied(t("owner_card.copy_manually"));
    }
  };
  const saveWeight = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api(`/owners/${id}`, {
        method: "PATCH",
        body: { share_weight: (weight ?? "").replace(",", ".").trim() },
        ifMatch: owner.data?.version,
      });
      setSaved(t("record.updated"));
      setWeight(null);
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const o = owner.data;
  if (owner.loading && !o) return <Loading />;
  if (!o) return <ErrorBox error={owner.error} />;
  const b = balance.data;
  return (
    <>
      <Card title={ownerLabel(o)} id="owner-card">
        <p class="muted">{t("owner_card.id", { id: o.owner_id })}</p>
        {b && (
          <p id="owner-balance">
            {t("owner_card.balance_in", { period: b.period_name })}: <Amount value={b.balance} strong />
          </p>
        )}
        <form id="weight-form" onSubmit={saveWeight} class="inline-form">
          <Field id="w-weight" label={t("owners.share_weight")}>
            <input id="w-weight" inputMode="decimal" value={weight ?? o.share_weight}
              onInput={(e) => setWeight((e.target as HTMLInputElement).value)} />
          </Field>
          {weight !== null && <button type="submit" class="secondary small">{t("action.save")}</button>}
        </form>
        <Status text={saved} kind="ok" />
        <div class="actions wrap">
          {KINDS.map((k) => (
            <button type="button" class="secondary small" id={"record-" + k}
              onClick={() => app.go("admin-record", { kind: k, owner_id: o.owner_id })}>
              {t("record.kind." + k)}
            </button>
          ))}
          <button type="button" class="secondary small" onClick={() => app.go("admin-audit", { object_type: "owner", object_id: o.owner_id })}>
            {t("action.history")}
          </button>
        </div>
      </Card>
      <Card title={t("owner_card.telegram")} id="telegram-card">
        <p id="tg-state">
          {o.telegram_id
            ? t(o.telegram_reachable ? "owner_card.tg_linked" : "owner_card.tg_blocked", { id: o.telegram_id })
            : t("owner_card.tg_none")}
        </p>
        {o.telegram_id && o.telegram_reachable && (
          <button type="button" class="primary" id="send-statement" onClick={sendStatement}>
            {t("owner_card.send_statement")}
          </button>
        )}
        <Status text={sent} kind="ok" />
        <button type="button" class="secondary" id="issue-link" onClick={issue}>
          {t(link ? "owner_card.new_link" : "owner_card.issue_link")}
        </button>
        {link && (
          <div class="link-box">
            <Field id="start-link" label={t("owner_card.start_link")} hint={t("owner_card.valid_until", { date: day(link.expires_at) })}>
              <input id="start-link" readOnly value={link.deep_link} onFocus={(e) => (e.target as HTMLInputElement).select()} />
            </Field>
            <button type="button" class="secondary small" id="copy-link" onClick={copy}>{t("owner_card.copy")}</button>
            <Status text={copied} kind="ok" />
            <img id="start-qr" class="qr" src={qrDataUrl(link.deep_link)} alt={t("owner_card.qr_alt", { name: ownerLabel(o) })} width={200} height={200} />
          </div>
        )}
        <ErrorBox error={error} />
      </Card>
      {b && (
        <Card title={t("owner_card.period_detail", { period: b.period_name })}>
          <dl class="breakdown">
            <dt>{t("owner.opening")}</dt><dd>{money(b.opening_balance, app.currency)}</dd>
            <dt>{t("owner.payments")}</dt><dd>{money(b.total_contributions, app.currency)}</dd>
            <dt>{t("owner.paid_expenses")}</dt><dd>{money(b.total_paid_expenses, app.currency)}</dd>
            <dt>{t("owner.share")}</dt><dd>{money(b.total_allocated, app.currency)}</dd>
            <dt>{t("owner.charges")}</dt><dd>{money(b.total_service_charges, app.currency)}</dd>
            <dt>{t("owner.settlements")}</dt><dd>{money(b.net_settlements, app.currency)}</dd>
          </dl>
        </Card>
      )}
      <Statement data={statement.data} error={statement.error} ownerId={id} />
    </>
  );
}

export default defineScreen({ id: "admin-owner", mode: "admin", title: "screen.owner", component: OwnerCard });
