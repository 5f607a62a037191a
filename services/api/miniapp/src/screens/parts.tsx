// Pieces several screens use: the period picker.
import { useApp } from "../core/app";
import { dayRange, t } from "../core/i18n";

export function PeriodPicker() {
  const app = useApp();
  if (app.periods.length === 0) return null;
  return (
    <div class="field">
      <label for="period-picker">{t("period.label")}</label>
      <select id="period-picker" value={String(app.period?.id ?? "")} aria-describedby={app.period ? "period-range" : undefined}
        onChange={(e) => app.choosePeriod(Number((e.target as HTMLSelectElement).value))}>
        {app.periods
          .slice()
          .sort((a, b) => (a.start_date < b.start_date ? 1 : -1))
          .map((p) => (
            <option value={String(p.id)}>
              {p.name} · {t("period.status." + p.status)}
            </option>
          ))}
      </select>
      {app.period && (
        <p class="muted small hint" id="period-range">
          {dayRange(app.period.start_date, app.period.end_date)}
        </p>
      )}
    </div>
  );
}
