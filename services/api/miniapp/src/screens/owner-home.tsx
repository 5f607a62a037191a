// The owner's screen: their balance in the chosen period, recording their own payment, their
// payments, and their statement with invoices and downloads.
import { useState } from "preact/hooks";
import { api, IdempotentForm } from "../core/api";
import { useApp } from "../core/app";
import { day, money, parseAmount, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { haptic } from "../core/telegram";
import { Amount, Card, describe, Downloads, ErrorBox, Field, Loading, sign, Status, Submit, useLoad } from "../core/ui";
import { PeriodPicker } from "./parts";
import { InvoiceQr } from "./invoice-qr";

const form = new IdempotentForm();

function OwnerHome() {
  const app = useApp();
  const ownerId = app.me.owner_id!;
  const p = app.period;
  const balance = useLoad(
    () => (p ? api(`/periods/${p.id}/balances/${ownerId}`) : Promise.resolve(null)),
    [p?.id, app.tick],
  );
  const payments = useLoad<any[]>(
    () => (p ? api(`/periods/${p.id}/contributions?owner_id=${ownerId}&limit=500`) : Promise.resolve([])),
    [p?.id, app.tick],
  );
  const statement = useLoad<any>(() => api(`/owners/${ownerId}/statement`), [app.tick]);
  const [amount, setAmount] = useState("");
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; kind?: "ok" | "bad" }>({ text: "" });

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = parseAmount(amount);
    if (!value || !/[1-9]/.test(value)) {
      setStatus({ text: t("form.amount_invalid"), kind: "bad" });
      return;
    }
    const body: Record<string, unknown> = { owner_id: ownerId, amount: value };
    if (comment.trim()) body.comment = comment.trim();
    setBusy(true);
    setStatus({ text: t("common.saving") });
    try {
      const saved = await api(`/periods/${p!.id}/contributions`, {
        method: "POST",
        body,
        idempotencyKey: form.keyFor([p!.id, body]),
      });
      form.done();
      setAmount("");
      setComment("");
      setStatus({ text: t("owner.recorded", { amount: money(saved.amount, app.currency), date: day(saved.date) }), kind: "ok" });
      haptic("success");
      app.changed();
    } catch (err) {
      form.settle(err);
      setStatus({ text: describe(err), kind: "bad" });
      haptic("error");
    } finally {
      setBusy(false);
    }
  };

  if (!p) return <p class="banner" role="status">{t("owner.no_period")}</p>;
  const b = balance.data as any;
  const s = b ? sign(b.balance) : 0;
  return (
    <>
      <PeriodPicker />
      <Card title={t("owner.balance")} id="balance-card">
        {balance.loading && !b && <Loading />}
        <ErrorBox error={balance.error} />
        {b && (
          <>
            <p class="muted">
              {p.name} · <span class="pill">{t("period.status." + b.status)}</span>
            </p>
            <p id="balance" data-testid="balance">
              <Amount value={b.balance} strong />
            </p>
            <p class="muted" id="balance-note">
              {t(s > 0 ? "owner.note_credit" : s < 0 ? "owner.note_debt" : "owner.note_settled")}
            </p>
            <dl class="breakdown">
              {[
                ["owner.opening", b.opening_balance],
                ["owner.payments", b.total_contributions],
                ["owner.paid_expenses", b.total_paid_expenses],
                ["owner.share", b.total_allocated],
                ["owner.charges", b.total_service_charges],
                ["owner.settlements", b.net_settlements],
              ].map(([k, v]) => (
                <>
                  <dt>{t(k)}</dt>
                  <dd>{money(v, app.currency)}</dd>
                </>
              ))}
            </dl>
          </>
        )}
      </Card>
      {p.status === "OPEN" && (
        <Card title={t("owner.pay_title")} id="pay-card">
          <form id="pay-form" onSubmit={submit} noValidate>
            <Field id="amount" label={t("form.amount_in", { currency: app.currency })}>
              <input id="amount" inputMode="decimal" autocomplete="off" value={amount} required
                onInput={(e) => setAmount((e.target as HTMLInputElement).value)} />
            </Field>
            <Field id="comment" label={t("form.comment")} hint={t("form.optional")}>
              <input id="comment" maxLength={500} autocomplete="off" value={comment}
                onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
            </Field>
            <Submit label={t("owner.pay_submit")} busy={busy} form="pay-form" />
            <Status text={status.text} kind={status.kind} />
          </form>
        </Card>
      )}
      <Card title={t("owner.payments_title")} id="payments-card">
        <ul class="rows" id="payments">
          {(payments.data ?? []).slice(-10).reverse().map((c: any) => (
            <li>
              <span>
                {day(c.date)}
                {c.is_opening ? " · " + t("owner.carried_forward") : c.comment ? " · " + c.comment : ""}
              </span>
              <span class="right">{money(c.amount, app.currency)}</span>
            </li>
          ))}
        </ul>
        {payments.data && payments.data.length === 0 && <p class="muted">{t("owner.no_payments")}</p>}
      </Card>
      <Statement data={statement.data} error={statement.error} ownerId={ownerId} />
    </>
  );
}

export function Statement({ data, error, ownerId }: { data: any; error: unknown; ownerId: number }) {
  const app = useApp();
  return (
    <Card title={t("statement.title")} id="statement-card">
      <ErrorBox error={error} />
      {data && (
        <>
          <div class="scroll" tabIndex={0} role="region" aria-label={t("statement.title")}>
            <table id="statement" class="stack">
              <thead>
                <tr>
                  <th scope="col">{t("statement.period")}</th>
                  <th scope="col">{t("statement.opening")}</th>
                  <th scope="col">{t("statement.charges")}</th>
                  <th scope="col">{t("statement.payments")}</th>
                  <th scope="col">{t("statement.closing")}</th>
                </tr>
              </thead>
              <tbody>
                {data.periods.map((p: any) => (
                  <tr>
                    <th scope="row">{p.period_name}</th>
                    <td data-label={t("statement.opening")}>{money(p.opening_balance, app.currency)}</td>
                    <td data-label={t("statement.charges")}>{money(p.charges, app.currency)}</td>
                    <td data-label={t("statement.payments")}>{money(p.payments, app.currency)}</td>
                    <td data-label={t("statement.closing")}>{money(p.closing_balance, app.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>{t("statement.invoices")}</h3>
          <ul class="rows" id="invoices">
            {data.invoices.map((inv: any) => (
              <li>
                <span>{inv.period_name}</span>
                <span class="right">
                  {money(inv.amount, app.currency)} <span class={"tag status-" + inv.status}>{t("invoice.status." + inv.status)}</span>
                  {(inv.status === "PARTIAL" || inv.status === "ISSUED") && (
                    <span class="muted block">{t("invoice.pending", { amount: money(inv.pending, app.currency) })}</span>
                  )}
                  <InvoiceQr ownerId={ownerId} invoice={inv} />
                </span>
              </li>
            ))}
          </ul>
          {data.invoices.length === 0 && <p class="muted">{t("statement.no_invoices")}</p>}
          <Downloads path={`/owners/${ownerId}/statement`} name={`statement-${ownerId}`} label={t("download.statement")} />
        </>
      )}
    </Card>
  );
}

export default defineScreen({ id: "owner-home", mode: "owner", title: "screen.owner_home", tab: 1, component: OwnerHome });
