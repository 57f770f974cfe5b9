import type { Node, NodeAPI } from 'node-red';
import { PfcamError } from '../../lib/errors';

/** The shared message catalog (keys under `common.`) lives with the camera config node. */
const COMMON = '@pfcam/node-red-pfcam/pfcam-camera:common.';

/** Translates a key of the shared catalog (`status.online`, `errors.badInput`). */
export function commonText(
  RED: NodeAPI,
  key: string,
  params?: Readonly<Record<string, string | number>>,
): string {
  return RED._(COMMON + key, params);
}

/**
 * The one status helper, with fixed meanings: blue dot busy, green dot ok / connected, yellow ring connecting or
 * retrying, red ring error / offline, grey ring disabled. Texts are i18n keys of the shared catalog, or already
 * translated text passed through `text`.
 */
export class Status {
  constructor(
    private readonly node: Node,
    private readonly RED: NodeAPI,
  ) {}

  busy(key: string, params?: Readonly<Record<string, string | number>>): void {
    this.node.status({ fill: 'blue', shape: 'dot', text: this.t(key, params) });
  }

  ok(key: string, params?: Readonly<Record<string, string | number>>): void {
    this.node.status({ fill: 'green', shape: 'dot', text: this.t(key, params) });
  }

  connecting(key: string, params?: Readonly<Record<string, string | number>>): void {
    this.node.status({ fill: 'yellow', shape: 'ring', text: this.t(key, params) });
  }

  error(key: string, params?: Readonly<Record<string, string | number>>): void {
    this.node.status({ fill: 'red', shape: 'ring', text: this.t(key, params) });
  }

  disabled(key: string, params?: Readonly<Record<string, string | number>>): void {
    this.node.status({ fill: 'grey', shape: 'ring', text: this.t(key, params) });
  }

  /** Red status for a failure: the error's own key when it is one of ours, else a generic one. */
  failed(err: unknown): void {
    if (err instanceof PfcamError) this.error(err.key, err.params);
    else this.error('errors.failed');
  }

  /** Plain text, already translated (for figures such as progress). */
  text(fill: 'blue' | 'green' | 'yellow' | 'red' | 'grey', shape: 'dot' | 'ring', text: string): void {
    this.node.status({ fill, shape, text });
  }

  clear(): void {
    this.node.status({});
  }

  private t(key: string, params?: Readonly<Record<string, string | number>>): string {
    return commonText(this.RED, key, params);
  }
}
