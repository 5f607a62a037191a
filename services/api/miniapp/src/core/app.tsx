// What every screen shares: who the user is, the community, the chosen period, navigation
// (a stack: Telegram's Back Button and the in-page Back go one step back) and a refresh tick
// that screens reload on after a write.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Mode } from "./screens";

export interface Me {
  role: string;
  community_id: number | null;
  community_name: string | null;
  currency: string | null;
  owner_id: number | null;
  name: string | null;
  telegram_id: number | null;
  is_admin: boolean;
  language: string | null;
  owner_language: string | null;
}

export interface Period {
  id: number;
  name: string;
  start_date: string;
  end_date: string;
  status: string;
  description: string | null;
  closed_at: string | null;
}

export interface AppState {
  me: Me;
  currency: string;
  mode: Mode;
  periods: Period[];
  period: Period | null;
  choosePeriod(id: number): void;
  reloadPeriods(): Promise<void>;
  go(screen: string, params?: Record<string, any>): void;
  back(): void;
  tick: number;
  changed(): void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error("no app");
  return s;
}

export function todayISO(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The period to show first: the OPEN one containing today, else the latest OPEN, else the latest. */
export function currentPeriod(periods: Period[]): Period | null {
  const today = todayISO();
  const latest = (list: Period[]) =>
    list.slice().sort((a, b) => (a.start_date < b.start_date ? 1 : -1))[0] ?? null;
  const open = periods.filter((p) => p.status === "OPEN");
  return (
    open.find((p) => p.start_date <= today && today <= p.end_date) ?? latest(open) ?? latest(periods)
  );
}
