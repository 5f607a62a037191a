// The treasurer's glance at a period: collected, charged, the fund's balance, the debtors (largest
// debt first), budget against actual per item, and the expenses that could not be allocated.
import { api } from "../core/api";
import { useApp } from "../core/app";
import { fromMinor, money, plural, serverText, t, toMinor } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Amount, Card, ErrorBox, Loading, ownerLabel, useLoad } from "../core/ui";
import { PeriodPicker } from "./parts";

function Dashboard() {
  const app = useApp();
  const p = app.period;
  const sheet = useLoad<any>(() => (p ? api(`/periods/${p.id}/balance-sheet`) : Promise.resolve(null)), [p?.id, app.tick]);
  const budget = useLoad<any[]>(() => (p ? api(`/periods/${p.id}/budget-items?limit=500`) : Promise.resolve([])), [p?.id, app.tick]);
  if (!p) {
    return (
      <Card>
        <p>{t("dashboard.no_period")}</p>
        <button type="button" class="primary" onClick={() => app.go("admin-periods")}>{t("periods.create")}</button>
      </Card>
    );
  }
  const s = sheet.data;
  const c = app.currency;
  const debtors = s
    ? s.entries
        .filter((e: any) => toMinor(e.balance, c) < 0n)
        .sort((a: any, b: any) => {
          const d = toMinor(a.balance, c) - toMinor(b.balance, c);
          return d < 0n ? -1 : d > 0n ? 1 : a.owner_id - b.owner_id;
        })
    : [];
  // cash in the fund: what owners paid in, minus the expenses the fund itself paid
  const fund = s
    ? fromMinor(
        toMinor(s.total_contributions, c) - (toMinor(s.total_expenses, c) - toMinor(s.total_paid_expenses, c)),
        c,
      )
    : "0";
  const debtTotal = fromMinor(debtors.reduce((acc: bigint, e: any) => acc + toMinor(e.balance, c), 0n), c);
  return (
    <>
      <PeriodPicker />
      <ErrorBox error={sheet.error} />
      {sheet.loading && !s && <Loading />}
      {s && (
        <>
          <Card title={t("dashboard.glance")} id="glance">
            <p class="muted">
              {s.period_name} · <span class="pill">{t("period.status." + s.status)}</span>
              {s.status === "OPEN" && " · " + t("dashboard.preview")}
            </p>
            <dl class="tiles">
              <div>
                <dt>{t("dashboard.collected")}</dt>
                <dd id="collected">{money(s.total_contributions, c)}</dd>
              </div>
              <div>
                <dt>{t("dashboard.charged")}</dt>
                <dd id="charged">{money(s.total_charges, c)}</dd>
              </div>
              <div>
                <dt>{t("dashboard.fund")}</dt>
                <dd id="fund"><Amount value={fund} /></dd>
              </div>
              <div>
                <dt>{t("dashboard.expenses")}</dt>
                <dd>{money(s.total_expenses, c)}</dd>
              </div>
            </dl>
            <p class="muted small">{t("dashboard.fund_hint")}</p>
          </Card>
          <Card title={t("dashboard.debtors")} id="debtors">
            <p id="debtors-count">
              {debtors.length
                ? plural("dashboard.debtors_count", debtors.length) + " · " + money(debtTotal.replace("-", ""), c)
                : t("dashboard.no_debtors")}
            </p>
            <ol class="rows">
              {debtors.map((e: any) => (
                <li>
                  <button type="button" class="link" onClick={() => app.go("admin-owner", { owner_id: e.owner_id })}>
                    {ownerLabel(e)}
                  </button>
                  <span class="right"><Amount value={e.balance} /></span>
                </li>
              ))}
            </ol>
          </Card>
        </>
      )}
      <Card title={t("dashboard.budget")} id="budget-vs-actual">
        {budget.data && budget.data.length === 0 && <p class="muted">{t("budget.none")}</p>}
        {budget.data && budget.data.length > 0 && (
          <div class="scroll" tabIndex={0} role="region" aria-label={t("dashboard.budget")}>
            <table class="stack">
              <thead>
                <tr>
                  <th scope="col">{t("budget.item")}</th>
                  <th scope="col">{t("budget.budgeted")}</th>
                  <th scope="col">{t("budget.actual")}</th>
                  <th scope="col">{t("budget.variance")}</th>
                </tr>
              </thead>
              <tbody>
                {budget.data.map((b: any) => (
                  <tr>
                    <th scope="row">{b.payment_type}</th>
                    <td data-label={t("budget.budgeted")}>{money(b.budgeted_amount, c)}</td>
                    <td data-label={t("budget.actual")}>{money(b.actual_amount, c)}</td>
                    <td data-label={t("budget.variance")}><Amount value={b.variance} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {s && s.unallocated.length > 0 && (
        <Card title={t("dashboard.unallocated")} id="unallocated">
          <ul class="rows">
            {s.unallocated.map((u: any) => (
              <li>
                <span>
                  {u.payment_type}
                  <span class="muted block">{serverText(u.reason)}</span>
                </span>
                <span class="right">{money(u.amount, c)}</span>
              </li>
            ))}
          </ul>
        </Card>
      )}
    </>
  );
}

export default defineScreen({ id: "admin-dashboard", mode: "admin", title: "screen.dashboard", tab: 1, component: Dashboard });
