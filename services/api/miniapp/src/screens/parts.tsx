// Pieces several screens use: the period picker.
import { useApp } from "../core/app";
import { day, t } from "../core/i18n";

export function PeriodPicker() {
  const app = useApp();
  if (app.periods.length === 0) return null;
  return (
    <div class="field">
      <label for="period-picker">{t("period.label")}</label>
      <select id="period-picker" value={String(app.period?.id ?? "")}
        onChange={(e) => app.choosePeriod(Number((e.target as HTMLSelectElement).value))}>
        {app.periods
          .slice()
          .sort((a, b) => (a.start_date < b.start_date ? 1 : -1))
          .map((p) => (
            <option value={String(p.id)}>
              {p.name} · {t("period.status." + p.status)} ({day(p.start_date)} – {day(p.end_date)})
            </option>
          ))}
      </select>
    </div>
  );
}
