import type { S3Client } from '@aws-sdk/client-s3';
import type { Node } from 'node-red';
import type { S3Options } from '../../lib/backup/s3-options';

/**
 * What a `pfcam-s3` config node offers the nodes that use it:
 * `const s3 = RED.nodes.getNode(config.s3); if (isS3ConfigNode(s3)) { const { client, options } = s3.target(); }`.
 */
export interface S3ConfigNode extends Node {
  /** The bucket's client and options; throws the configuration error when the node's settings are invalid. */
  target(): { client: S3Client; options: S3Options };
  /** Why the configuration is unusable, or undefined. */
  readonly configError: Error | undefined;
}

export function isS3ConfigNode(node: unknown): node is S3ConfigNode {
  return (
    typeof node === 'object' &&
    node !== null &&
    (node as { type?: unknown }).type === 'pfcam-s3' &&
    typeof (node as { target?: unknown }).target === 'function'
  );
}
