/**
 * The base of every error the package raises on purpose. It carries an i18n key (for the node status and the
 * editor) and plain English text (for `done(err)`, Catch nodes and logs), so both audiences get a message
 * that says what to fix.
 */
export class PfcamError extends Error {
  constructor(
    /** i18n key, relative to the shared catalog (`common.errors.*`), e.g. `errors.cameraOffline`. */
    readonly key: string,
    message: string,
    options?: { cause?: unknown; params?: Readonly<Record<string, string | number>> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.params = options?.params ?? {};
  }

  readonly params: Readonly<Record<string, string | number>>;
}

/** Bad input from a message or a node's configuration: the user must change something. */
export class InputError extends PfcamError {
  constructor(
    message: string,
    options?: { key?: string; params?: Readonly<Record<string, string | number>> },
  ) {
    super(options?.key ?? 'errors.badInput', message, options);
  }
}

/** Text of any thrown value, for messages and logs. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
