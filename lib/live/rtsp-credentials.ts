/**
 * The camera's RTSP credentials on their way to ffmpeg, and out of every text that could show them.
 *
 * ffmpeg takes RTSP credentials only in the URL (`rtsp://user:pass@host/...`), and a process's arguments are
 * readable by every local user (`/proc/<pid>/cmdline`, `ps`). So the URL with credentials is never an argument:
 * ffmpeg reads a one-entry concat list (`-f concat -i pipe:0`) from its stdin, which holds that URL and the RTSP
 * input options. ffmpeg itself prints the URL it failed to open: every text taken from it is passed through
 * `redactSecrets` before it is kept.
 */

export interface RtspCredentials {
  readonly username: string;
  readonly password: string;
}

/** `url` with the credentials in its user-info part (percent-encoded as the URL syntax wants). */
export function withCredentials(url: string, credentials: RtspCredentials): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(credentials.username);
  parsed.password = encodeURIComponent(credentials.password);
  return parsed.toString();
}

/** The ffconcat text that makes ffmpeg open `url` (with credentials) with the RTSP input options. */
export function ffconcatList(url: string, inputOptions: Readonly<Record<string, string>>): string {
  if (/[\r\n]/.test(url)) throw new Error('the RTSP URL has a line break');
  const quoted = `'${url.replace(/'/g, "'\\''")}'`;
  const options = Object.entries(inputOptions).map(([key, value]) => `option ${key} ${value}\n`);
  return `ffconcat version 1.0\nfile ${quoted}\n${options.join('')}`;
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi;

/**
 * `text` with every URL's user-info replaced by `***` and every given secret (as written, URL-encoded and
 * percent-decoded) replaced by `***`.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text.replace(URL_USERINFO, '$1***@');
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    out = out.split(form).join('***');
  }
  return out;
}
