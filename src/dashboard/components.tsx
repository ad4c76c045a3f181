import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { Outcome } from "../delivery/retry-policy";
import type { SubscriptionView } from "../domain/subscription";
import { ASSET_PATHS } from "./assets";
import { CSRF_FIELD } from "./session";

type Section = "subscriptions" | "new" | "events" | "event-types";

const NAV: { section: Section; href: string; label: string }[] = [
  { section: "subscriptions", href: "/", label: "Subscriptions" },
  { section: "new", href: "/subscriptions/new", label: "New subscription" },
  { section: "events", href: "/events", label: "Event lookup" },
  { section: "event-types", href: "/event-types", label: "Event types" },
];

interface LayoutProps {
  title: string;
  /** Signed-in pages: the navigation and its sign-out form need the session's CSRF token. */
  csrfToken?: string;
  section?: Section;
  /** Reload the page every so many seconds (the operator asked to watch it). */
  refreshSeconds?: number;
  children?: Child;
}

export const Layout: FC<LayoutProps> = ({ title, csrfToken, section, refreshSeconds, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
        <title>{`${title} · Doorbell`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={ASSET_PATHS.stylesheet} />
        <script src={ASSET_PATHS.script} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <nav aria-label="Main">
            <a class="brand" href="/">Doorbell</a>
            {csrfToken ? (
              <>
                {NAV.map((item) => (
                  <a href={item.href} aria-current={item.section === section ? "page" : undefined}>{item.label}</a>
                ))}
                <a href="/docs">API reference</a>
                <PostButton action="/sign-out" csrfToken={csrfToken} label="Sign out" />
              </>
            ) : null}
          </nav>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  </>
);

export const CsrfField: FC<{ token: string }> = ({ token }) => <input type="hidden" name={CSRF_FIELD} value={token} />;

/** A one-button form: every state change is a POST carrying the CSRF token. */
interface PostButtonProps {
  action: string;
  csrfToken: string;
  label: string;
  kind?: "primary" | "danger";
  disabled?: boolean;
  /** Asks first (when scripts run). */
  confirm?: string;
  title?: string;
  fields?: Record<string, string>;
}

export const PostButton: FC<PostButtonProps> = ({ action, csrfToken, label, kind, disabled, confirm, title, fields = {} }) => (
  <form method="post" action={action} data-confirm={confirm}>
    <CsrfField token={csrfToken} />
    {Object.entries(fields).map(([name, value]) => <input type="hidden" name={name} value={value} />)}
    <button type="submit" class={kind} disabled={disabled} title={title}>{label}</button>
  </form>
);

export const Notice: FC<{ kind: "ok" | "bad"; children?: Child }> = ({ kind, children }) => (
  <div class={`notice ${kind}`} role={kind === "bad" ? "alert" : "status"}>{children}</div>
);

const REASONS: Record<NonNullable<SubscriptionView["disabledReason"]>, string> = {
  manual: "by hand",
  failures: "too many failures",
  gone: "endpoint answered 410 Gone",
};

export const StatusBadge: FC<{ subscription: SubscriptionView }> = ({ subscription }) =>
  subscription.disabled ? (
    <span class="badge off">Disabled: {REASONS[subscription.disabledReason ?? "manual"]}</span>
  ) : (
    <span class="badge on">Enabled</span>
  );

export const OUTCOME_LABELS: Record<Outcome, string> = {
  success: "Success",
  http_error: "HTTP error",
  timeout: "Timeout",
  network_error: "Network error",
};

export const OutcomeLabel: FC<{ outcome: Outcome }> = ({ outcome }) => (
  <span>
    <span class={`dot o-${outcome}`} aria-hidden="true"></span>
    {OUTCOME_LABELS[outcome]}
  </span>
);

/** Long free text cut short, so that a page of rows stays small (the API has it whole). */
export function clipped(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** In UTC, as everywhere on the dashboard: `2026-12-02 00:55:07 UTC`. */
export const Time: FC<{ at: string }> = ({ at }) => <time datetime={at}>{at.slice(0, 19).replace("T", " ")} UTC</time>;

export const EventTypes: FC<{ types: readonly string[] }> = ({ types }) => (
  <span class="types">{types.map((type) => <code>{type}</code>)}</span>
);

interface FieldProps {
  name: string;
  label: string;
  value?: string;
  type?: "text" | "url" | "password" | "search";
  hint?: Child;
  problems?: readonly string[];
  required?: boolean;
  autocomplete?: string;
  autofocus?: boolean;
  placeholder?: string;
}

/** A labelled input with its hint and, beside it, what is wrong with it (announced by screen readers). */
export const Field: FC<FieldProps> = ({ name, label, value, type = "text", hint, problems = [], required, autocomplete, autofocus, placeholder }) => {
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : "", problems.length > 0 ? `${id}-problem` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id} name={name} type={type} value={value} required={required} autocomplete={autocomplete ?? "off"}
        autofocus={autofocus} placeholder={placeholder} spellcheck={false}
        aria-invalid={problems.length > 0 ? "true" : undefined} aria-describedby={described || undefined}
      />
      {problems.length > 0 ? <p class="problem" id={`${id}-problem`}>{problems.join("; ")}</p> : null}
      {hint ? <p class="hint" id={`${id}-hint`}>{hint}</p> : null}
    </div>
  );
};

/** Above a refused form: nothing was saved, and what is wrong but belongs to no one field. */
export const RefusedNotice: FC<{ problems?: readonly string[] }> = ({ problems }) => (
  <Notice kind="bad">
    Nothing was saved: fix what is marked below.
    {problems ? <ul>{problems.map((problem) => <li>{problem}</li>)}</ul> : null}
  </Notice>
);
