#!/usr/bin/env node
/**
 * `npm run pfcam -- COMMAND ...`: the application's administration from the shell (users, backup and restore).
 * Each command lives in its own module, loaded only when named.
 */

interface Command {
  readonly summary: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** Command name -> module (relative to this file) whose `command` export implements it. */
const COMMANDS: Readonly<Record<string, string>> = {
  backup: './backup-command',
  'rebuild-index': './rebuild-command',
  restore: './restore-command',
  user: './user-command',
};

function usage(): string {
  const names = Object.keys(COMMANDS).sort();
  return ['usage: npm run pfcam -- COMMAND [ARGS]', '', 'commands:', ...names.map((n) => `  ${n}`)].join(
    '\n',
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const modulePath = COMMANDS[name];
  if (modulePath === undefined) {
    console.error(`pfcam: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { command } = require(modulePath) as { command: Command };
  return command.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`pfcam: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
