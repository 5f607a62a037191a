// Every screen of the Mini App. To add one: write src/screens/<name>.tsx exporting
// `defineScreen({...})` as default, add its line here, and its strings to src/i18n/en/<name>.json
// and src/i18n/ru/<name>.json (keys "<name>.*"; a test fails when one language lacks a key).
import type { Screen } from "../core/screens";
import adminAudit from "./admin-audit";
import adminBudget from "./admin-budget";
import adminDashboard from "./admin-dashboard";
import adminImport from "./admin-import";
import adminJournal from "./admin-journal";
import adminOwner from "./admin-owner";
import adminOwners from "./admin-owners";
import adminPeriods from "./admin-periods";
import adminPlots from "./admin-plots";
import adminPurchases from "./admin-purchases";
import adminRecord from "./admin-record";
import adminSettings from "./admin-settings";
import ownerHome from "./owner-home";
import ownerPurchases from "./owner-purchases";
import ownerReadings from "./owner-readings";
import purchase from "./purchase";

export const screens: Screen[] = [
  ownerHome,
  ownerReadings,
  ownerPurchases,
  purchase,
  adminDashboard,
  adminRecord,
  adminJournal,
  adminOwners,
  adminOwner,
  adminPeriods,
  adminBudget,
  adminPlots,
  adminImport,
  adminPurchases,
  adminAudit,
  adminSettings,
];

export function screen(id: string): Screen {
  const s = screens.find((x) => x.id === id);
  if (!s) throw new Error("unknown screen " + id);
  return s;
}
