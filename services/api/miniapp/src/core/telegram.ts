// Telegram glue through the maintained SDK (@tma.js/sdk): launch parameters and initData, the theme
// (Telegram's colours bound to CSS variables, light or dark), the Main Button and the Back Button.
// Outside Telegram (an ordinary browser) none of this runs: the page reads `#tma=<initData>` from
// the URL fragment and draws its own in-page buttons, and its own light or dark palette.
import {
  backButton,
  init,
  isTMA,
  mainButton,
  miniApp,
  on,
  postEvent,
  retrieveLaunchParams,
  retrieveRawInitData,
  themeParams,
} from "@tma.js/sdk";

export interface Launch {
  inTelegram: boolean;
  initData: string | null;
  communityId: string | null;
  languageCode: string | null;
  theme: "light" | "dark";
  forcedLang: string | null;
}

function systemTheme(): "light" | "dark" {
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
    ? "dark"
    : "light";
}

function applyTheme(theme: "light" | "dark"): void {
  document.documentElement.dataset.theme = theme;
}

export function languageFromInitData(raw: string | null): string | null {
  if (!raw) return null;
  try {
    const user = JSON.parse(new URLSearchParams(raw).get("user") || "{}");
    return typeof user.language_code === "string" ? user.language_code : null;
  } catch {
    return null;
  }
}

function community(given: string | null, start: string | null): string | null {
  if (given && /^\d+$/.test(given)) return given;
  const m = /^c(\d+)$/.exec(start || ""); // a bot link may name it: t.me/<bot>?startapp=c<id>
  return m ? m[1] : null;
}

let telegram = false;

export function inTelegram(): boolean {
  return telegram;
}

export function launch(): Launch {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  if (isTMA()) {
    telegram = true;
    init({ acceptCustomStyles: false }); // custom styles would be an inline <style>: the CSP refuses it
    miniApp.mount.ifAvailable();
    themeParams.mount.ifAvailable();
    themeParams.bindCssVars.ifAvailable();
    backButton.mount.ifAvailable();
    mainButton.mount.ifAvailable();
    const dark = () => (themeParams.isDark() ? "dark" : "light");
    applyTheme(dark());
    on("theme_changed", () => applyTheme(dark()));
    miniApp.ready.ifAvailable();
    postEvent("web_app_expand");
    const lp = retrieveLaunchParams();
    const raw = retrieveRawInitData() ?? null;
    return {
      inTelegram: true,
      initData: raw,
      communityId: community(fragment.get("community"), (lp.tgWebAppStartParam as string) ?? null),
      languageCode: languageFromInitData(raw),
      theme: dark(),
      forcedLang: null,
    };
  }
  const theme = fragment.get("theme") === "dark" ? "dark" : fragment.get("theme") === "light" ? "light" : systemTheme();
  applyTheme(theme);
  const initData = fragment.get("tma");
  return {
    inTelegram: false,
    initData,
    communityId: community(fragment.get("community"), null),
    languageCode: languageFromInitData(initData),
    theme,
    forcedLang: fragment.get("lang"),
  };
}

// ---------------------------------------------------------------- Main Button and Back Button

let mainHandler: (() => void) | null = null;
let offMain: (() => void) | null = null;

/** Shows Telegram's Main Button with `text`, calling `onClick`; `null` hides it. */
export function setMainButton(text: string | null, onClick?: () => void, busy = false): void {
  if (!telegram) return;
  if (offMain) {
    offMain();
    offMain = null;
  }
  mainHandler = onClick ?? null;
  if (text === null || !mainHandler) {
    mainButton.setParams.ifAvailable({ isVisible: false });
    return;
  }
  const handler = mainHandler;
  offMain = mainButton.onClick(() => handler());
  mainButton.setParams.ifAvailable({
    text,
    isVisible: true,
    isEnabled: !busy,
    isLoaderVisible: busy,
  });
}

let offBack: (() => void) | null = null;

/** Shows Telegram's Back Button while there is somewhere to go back to. */
export function setBackButton(onBack: (() => void) | null): void {
  if (!telegram) return;
  if (offBack) {
    offBack();
    offBack = null;
  }
  if (!onBack) {
    backButton.hide.ifAvailable();
    return;
  }
  offBack = backButton.onClick(onBack);
  backButton.show.ifAvailable();
}

export function haptic(kind: "success" | "error"): void {
  if (telegram) postEvent("web_app_trigger_haptic_feedback", { type: "notification", notification_type: kind });
}
