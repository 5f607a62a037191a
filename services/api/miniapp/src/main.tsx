// Kopilka Mini App: the owner's and the treasurer's (admin) workplace, in Russian and English.
// Boot: read the launch (Telegram through the SDK, or `#tma=` in a browser), ask the API who the
// user is (`GET /me`), pick the language and the mode, then show the screens of that mode.
import "./app.css";
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { all, api, ApiError, setSession } from "./core/api";
import { AppContext, currentPeriod, type AppState, type Me, type Period } from "./core/app";
import { LANGUAGES, lang, setLang, supported, t, type Lang } from "./core/i18n";
import type { Mode } from "./core/screens";
import { languageFromInitData, launch, setBackButton, type Launch } from "./core/telegram";
import { describe, Loading } from "./core/ui";
import { screens, screen } from "./screens";

const LANG_KEY = "kopilka.lang";
const MODE_KEY = "kopilka.mode";

function storedLang(): Lang | null {
  try {
    return supported(window.localStorage.getItem(LANG_KEY));
  } catch {
    return null;
  }
}

/** The user's language: their choice in this page, else Telegram's language_code, else the
 * owner's language, else the community's, else English. */
function chooseLang(l: Launch, me: Me | null, initData?: string | null): Lang {
  return (
    supported(l.forcedLang) ??
    storedLang() ??
    supported(initData ? languageFromInitData(initData) : l.languageCode) ??
    supported(me?.owner_language) ??
    supported(me?.language) ??
    "en"
  );
}

interface Entry {
  id: string;
  params: Record<string, any>;
}

function SignIn({ onDone, error }: { onDone: (initData: string, community: string | null) => void; error: unknown }) {
  const [text, setText] = useState("");
  const [community, setCommunity] = useState("");
  return (
    <section class="card" id="signin-card">
      <h2>{t("signin.title")}</h2>
      <p class="muted">{t("signin.help")}</p>
      {error && (
        <p class="banner error" role="alert">
          {describe(error)}
        </p>
      )}
      <form
        id="signin-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) onDone(text.trim(), /^\d+$/.test(community.trim()) ? community.trim() : null);
        }}
      >
        <div class="field">
          <label for="init-data">{t("signin.init_data")}</label>
          <textarea id="init-data" rows={4} autocomplete="off" spellcheck={false} value={text}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="field">
          <label for="community-id">
            {t("signin.community")} <span class="muted">{t("signin.community_hint")}</span>
          </label>
          <input id="community-id" inputMode="numeric" autocomplete="off" value={community}
            onInput={(e) => setCommunity((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary">{t("signin.submit")}</button>
      </form>
    </section>
  );
}

function Shell({ l }: { l: Launch }) {
  const [session, setSess] = useState({ initData: l.initData, communityId: l.communityId });
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [language, setLanguage] = useState<Lang>(chooseLang(l, null));
  const [mode, setMode] = useState<Mode>("owner");
  const [stack, setStack] = useState<Entry[]>([]);
  const [periods, setPeriods] = useState<Period[]>([]);
  const [periodId, setPeriodId] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  const [booting, setBooting] = useState(Boolean(l.initData));

  setLang(language);

  const reloadPeriods = async () => {
    const rows = (await api<{ periods: Period[] }>("/periods?limit=500")).periods;
    setPeriods(rows);
    setPeriodId((id) => (id !== null && rows.some((p) => p.id === id) ? id : currentPeriod(rows)?.id ?? null));
  };

  useEffect(() => {
    if (!session.initData) return;
    setSession({ initData: session.initData, communityId: session.communityId });
    setBooting(true);
    (async () => {
      try {
        const who = await api<Me>("/me");
        const lg = chooseLang(l, who, session.initData);
        setLang(lg);
        setLanguage(lg);
        let m: Mode = who.is_admin ? "admin" : "owner";
        try {
          const stored = window.localStorage.getItem(MODE_KEY);
          if (who.is_admin && who.owner_id !== null && (stored === "owner" || stored === "admin")) m = stored;
        } catch {
          /* storage unavailable */
        }
        if (!who.is_admin && who.owner_id === null) throw new ApiError(403, "");
        await reloadPeriods();
        setMe(who);
        setMode(m);
        setStack([{ id: firstTab(m), params: {} }]);
        setError(null);
      } catch (e) {
        setError(e);
        setMe(null);
      } finally {
        setBooting(false);
      }
    })();
  }, [session.initData, session.communityId]);

  const top = stack[stack.length - 1];
  useEffect(() => {
    document.getElementById("tab-" + (stack[0]?.id ?? ""))?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [stack[0]?.id]);
  useEffect(() => {
    setBackButton(stack.length > 1 ? () => setStack((s) => s.slice(0, -1)) : null);
  }, [stack.length]);

  const state: AppState | null = useMemo(() => {
    if (!me) return null;
    return {
      me,
      currency: me.currency ?? "RUB",
      mode,
      periods,
      period: periods.find((p) => p.id === periodId) ?? null,
      choosePeriod: (id: number) => setPeriodId(id),
      reloadPeriods,
      go: (id: string, params: Record<string, any> = {}) => setStack((s) => [...s, { id, params }]),
      back: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
      tick,
      changed: () => setTick((x) => x + 1),
    };
  }, [me, mode, periods, periodId, tick]);

  const switchLang = (lg: Lang) => {
    try {
      window.localStorage.setItem(LANG_KEY, lg);
    } catch {
      /* storage unavailable */
    }
    setLang(lg);
    setLanguage(lg);
  };

  const switchMode = (m: Mode) => {
    try {
      window.localStorage.setItem(MODE_KEY, m);
    } catch {
      /* storage unavailable */
    }
    setMode(m);
    setStack([{ id: firstTab(m), params: {} }]);
  };

  const header = (
    <header class="top">
      <div class="title">
        <h1 id="community-name">{me?.community_name ?? t("app.name")}</h1>
        {me && (
          <p id="who" class="muted">
            {me.name ?? ""}
            {me.name ? " · " : ""}
            {t(mode === "admin" ? "mode.admin" : "mode.owner")}
          </p>
        )}
      </div>
      <div class="switches">
        {me && me.is_admin && me.owner_id !== null && (
          <div class="segmented" role="group" aria-label={t("mode.switch")}>
            {(["admin", "owner"] as Mode[]).map((m) => (
              <button type="button" aria-pressed={mode === m} onClick={() => switchMode(m)} id={"mode-" + m}>
                {t("mode.short." + m)}
              </button>
            ))}
          </div>
        )}
        <div class="segmented" role="group" aria-label={t("lang.switch")}>
          {LANGUAGES.map((lg) => (
            <button type="button" aria-pressed={language === lg} lang={lg} onClick={() => switchLang(lg)} id={"lang-" + lg}>
              {lg.toUpperCase()}
            </button>
          ))}
        </div>
      </div>
    </header>
  );

  if (!session.initData || (!me && !booting && error instanceof ApiError && error.status === 401 && !l.inTelegram)) {
    return (
      <main id="app" class={"lang-" + language}>
        {header}
        <SignIn error={session.initData ? error : null} onDone={(initData, communityId) => setSess({ initData, communityId })} />
      </main>
    );
  }
  if (booting || !state) {
    return (
      <main id="app" class={"lang-" + language} aria-busy={booting}>
        {header}
        {booting ? <Loading /> : (
          <div id="error" class="banner error" role="alert">
            {error instanceof ApiError && error.status === 403 && !error.message ? t("error.not_member") : describe(error)}
          </div>
        )}
      </main>
    );
  }
  const tabs = screens.filter((s) => s.mode === mode && s.tab !== undefined).sort((a, b) => a.tab! - b.tab!);
  const current = screen(top.id);
  const Component = current.component;
  return (
    <AppContext.Provider value={state}>
      <main id="app" class={"lang-" + language + " mode-" + mode} data-screen={current.id}>
        {header}
        {tabs.length > 1 && (
          <nav class="tabs" aria-label={t("nav.label")}>
            {tabs.map((s) => (
              <button type="button" id={"tab-" + s.id} aria-current={stack[0].id === s.id && stack.length === 1 ? "page" : undefined}
                onClick={() => setStack([{ id: s.id, params: {} }])}>
                {t(s.title)}
              </button>
            ))}
          </nav>
        )}
        {stack.length > 1 && !l.inTelegram && (
          <button type="button" class="back" id="back" onClick={() => state.back()}>
            ← {t("action.back")}
          </button>
        )}
        <h2 class="screen-title" id="screen-title">{t(current.title)}</h2>
        <Component key={top.id + JSON.stringify(top.params) + language} params={top.params} />
      </main>
    </AppContext.Provider>
  );
}

function firstTab(m: Mode): string {
  const s = screens.filter((x) => x.mode === m && x.tab !== undefined).sort((a, b) => a.tab! - b.tab!)[0];
  return s.id;
}

const l = launch();
setLang(chooseLang(l, null));
render(<Shell l={l} />, document.getElementById("root")!);
