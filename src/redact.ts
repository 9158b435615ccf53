/**
 * The one redactor: every text that may hold a credential (a URL for the logs, an error message
 * from amqplib or a search client, a line of `qbl status`) passes through `redact` before anyone
 * sees it. A leaf: it imports nothing, so every layer may use it.
 */

export interface Secrets {
  /** URLs with credentials: their passwords (raw and percent-decoded) are hidden wherever they appear. */
  readonly urls?: readonly string[];
  /** Other secrets (a password, an API key), hidden wherever they appear. */
  readonly values?: ReadonlyArray<string | undefined>;
}

/** Shorter secrets are not searched for: replacing every "ab" in a message would hide the message, not the secret. */
const MIN_SECRET_CHARS = 3;

/**
 * A URL's scheme and everything up to the LAST `@` of its token: the user-info. A password may
 * hold `@` or `/` (URL parsers accept both unencoded), so anything before the last `@` counts.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)(\S*)@/gi;

/**
 * Rewrites `scheme://user:password@host` to `scheme://user:***@host` everywhere in `text`
 * (a user part that looks odd is hidden too), then replaces each secret with `***`.
 */
export function redact(text: string, secrets: Secrets = {}): string {
  let out = text;
  // Longest first, so a secret that contains another is hidden whole.
  const hidden = [...secretValues(secrets)].sort((a, b) => b.length - a.length);
  for (const secret of hidden) out = out.split(secret).join('***');
  return out.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    return `${scheme}${user && !/[/?#@]/.test(user) ? `${user}:***` : '***'}@`;
  });
}

function secretValues(secrets: Secrets): Set<string> {
  const values = new Set<string>();
  const add = (value: string | undefined): void => {
    if (value !== undefined && value.length >= MIN_SECRET_CHARS) values.add(value);
  };
  for (const url of secrets.urls ?? []) {
    let password = '';
    try {
      password = new URL(url).password;
    } catch {
      // Unparseable: the user-info rule above still hides what sits between `://` and `@`.
    }
    add(password);
    add(safeDecode(password));
  }
  for (const value of secrets.values ?? []) add(value);
  return values;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
