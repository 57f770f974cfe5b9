/**
 * HTTPS test parts: self-signed certificates made with openssl, requests that accept them, the fingerprint of the
 * certificate a server presents, and the shipped application (settings.js) as a real Node-RED process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:tls';
import { join, resolve } from 'node:path';
import { NODE_RED_MAIN, installIntoUserDir } from './node-red-install';

const root = resolve(__dirname, '..', '..');

/** A self-signed certificate for 127.0.0.1/localhost (EC P-256: quick to make); returns the two file paths. */
export function makeCertificate(
  dir: string,
  name: string,
): { cert: string; key: string; fingerprint: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request (http: or https:, self-signed accepted), optionally from a given local address. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<Reply> {
  const u = new URL(url);
  const make = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolveReply, reject) => {
    const req = make(
      u,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        rejectUnauthorized: false,
        localAddress: options.localAddress,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveReply({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The SHA-256 fingerprint of the certificate the TLS server at host:port presents. */
export function servedFingerprint(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolveFp, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolveFp(fp);
    });
    socket.setTimeout(15_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** The shipped application (settings.js) as a Node-RED process on a temporary data folder. */
export class ShippedNodeRed {
  output = '';
  private readonly listeners = new Set<() => void>();

  private constructor(readonly child: ChildProcess) {
    const onData = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const l of [...this.listeners]) l();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      for (const l of [...this.listeners]) l();
    });
  }

  /** Spawns Node-RED with the shipped settings; `dir` holds the data folder and the user directory. */
  static spawn(dir: string, env: Record<string, string>, flows: unknown[] = []): ShippedNodeRed {
    const dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    installIntoUserDir(userDir);
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows));
    mkdirSync(dataDir, { recursive: true });
    const child = spawn(
      process.execPath,
      [NODE_RED_MAIN, '--settings', join(root, 'settings.js'), '--userDir', userDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PFCAM_DATA: dataDir, PFCAM_CREDENTIAL_SECRET: 'test-secret', ...env },
      },
    );
    return new ShippedNodeRed(child);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves when the output (from `from` on) matches; rejects on exit or after the timeout. */
  waitFor(pattern: RegExp, timeoutMs = 60_000, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolveMatch, reject) => {
      const check = (): void => {
        const m = pattern.exec(this.output.slice(from));
        if (m) {
          cleanup();
          resolveMatch(m);
        } else if (this.exited) {
          cleanup();
          reject(new Error(`Node-RED exited before ${String(pattern)}:\n${this.output.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${this.output.slice(-2000)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the exit code once the process has exited. */
  exit(timeoutMs = 60_000): Promise<number | null> {
    if (this.exited) return Promise.resolve(this.child.exitCode);
    return new Promise((resolveExit, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED still running:\n${this.output}`)), timeoutMs);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        resolveExit(code);
      });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = this.exit(30_000);
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited.catch(() => undefined);
    clearTimeout(killer);
  }
}
