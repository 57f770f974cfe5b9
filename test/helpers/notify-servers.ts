/**
 * Real servers for the alerting tests, all on 127.0.0.1: an SMTP server (smtp-server + mailparser), an HTTP
 * receiver for webhooks, and a mosquitto broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Recorder } from './notify-fixtures';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface SmtpServerOptions {
  /** Required login; none: no AUTH at all. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (self-signed certificate). */
  starttls?: boolean;
  /** Listen on this port (to come back on the same port after an outage). */
  port?: number;
}

export interface ReceivedMail {
  parsed: ParsedMail;
  raw: string;
  /** Whether the session was encrypted when the message came. */
  secure: boolean;
  envelopeTo: string[];
}

/** An SMTP server that parses what it receives. */
export class TestSmtpServer {
  readonly mails = new Recorder<ReceivedMail>();
  readonly authFailures = new Recorder<string>();
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
    const ref: { self?: TestSmtpServer } = {};
    const server = new SMTPServer({
      secure: false,
      hideSTARTTLS: !options.starttls,
      authOptional: !options.auth,
      disabledCommands: options.auth ? [] : ['AUTH'],
      allowInsecureAuth: !options.starttls,
      logger: false,
      onAuth(auth, _session, callback) {
        if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
          callback(null, { user: auth.username });
          return;
        }
        ref.self?.authFailures.push(auth.username ?? '');
        callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw, { keepCidLinks: true }).then(
            (parsed) => {
              ref.self?.mails.push({
                parsed,
                raw: raw.toString('utf8'),
                secure: session.secure,
                envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              });
              callback();
            },
            (err: Error) => callback(err),
          );
        });
      },
    });
    server.on('error', () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.server.once('error', onError);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
    ref.self = new TestSmtpServer(server, port);
    return ref.self;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface ReceivedHook {
  body: string;
  headers: IncomingMessage['headers'];
  url: string;
}

/** An HTTP receiver; `respond` decides each answer (status, headers, or hold the request open). */
export class TestHttpReceiver {
  readonly requests = new Recorder<ReceivedHook>();
  respond: (
    req: ReceivedHook,
    index: number,
  ) => { status: number; headers?: Record<string, string> } | 'hang' = () => ({
    status: 204,
  });
  private readonly held: ServerResponse[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<TestHttpReceiver> {
    const ref: { self?: TestHttpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const self = ref.self;
        if (!self) return;
        const hook: ReceivedHook = {
          body: Buffer.concat(chunks).toString('utf8'),
          headers: req.headers,
          url: req.url ?? '',
        };
        const index = self.requests.items.length;
        const answer = self.respond(hook, index);
        self.requests.push(hook);
        if (answer === 'hang') {
          self.held.push(res);
          return;
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
      });
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
    ref.self = new TestHttpReceiver(server, port);
    return ref.self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A mosquitto broker on a free port of 127.0.0.1, anonymous access. */
export class Mosquitto {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<Mosquitto> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'pfcam-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    const bin = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
    const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const broker = new Mosquitto(child, dir, port);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      if (await accepts(port)) return broker;
      if (Date.now() > deadline) {
        await broker.stop();
        throw new Error(`mosquitto did not accept connections on ${port}: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
