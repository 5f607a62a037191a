// The community's settings its admins may change: the default language (messages, statements,
// this page for people who have not chosen one).
import { useState } from "preact/hooks";
import { api } from "../core/api";
import { useApp } from "../core/app";
import { LANGUAGES, t } from "../core/i18n";
import { defineScreen } from "../core/screens";
import { Card, ErrorBox, Field, Status, useLoad } from "../core/ui";

function Settings() {
  const app = useApp();
  const cid = app.me.community_id;
  const community = useLoad<any>(() => api(`/communities/${cid}`, { base: "/api" }), [cid, app.tick]);
  const [language, setLanguage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api(`/communities/${cid}`, { base: "/api", method: "PATCH", body: { language } });
      setStatus(t("settings.saved"));
      app.changed();
    } catch (err) {
      setError(err);
    }
  };
  const c = community.data;
  return (
    <Card title={c?.name ?? ""} id="settings">
      <ErrorBox error={community.error} />
      {c && (
        <form id="settings-form" onSubmit={save}>
          <Field id="s-language" label={t("settings.language")} hint={t("settings.language_hint")}>
            <select id="s-language" value={language ?? c.language} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value)}>
              {LANGUAGES.map((l) => <option value={l}>{t("lang.name." + l)}</option>)}
            </select>
          </Field>
          <button type="submit" class="primary" disabled={language === null}>{t("action.save")}</button>
          <Status text={status} kind="ok" />
          <ErrorBox error={error} />
        </form>
      )}
    </Card>
  );
}

export default defineScreen({ id: "admin-settings", mode: "admin", title: "screen.settings", component: Settings });
