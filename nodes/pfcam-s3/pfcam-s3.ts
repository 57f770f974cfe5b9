import { S3Client } from '@aws-sdk/client-s3';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import {
  parseS3Options,
  s3ClientConfig,
  type RawS3Config,
  type S3Credentials,
  type S3Options,
} from '../../lib/backup/s3-options';
import { errorText } from '../../lib/errors';
import { handleClose } from '../shared/input';
import type { S3ConfigNode } from './s3-node';

/** The editor configuration of a `pfcam-s3` node. */
export interface S3NodeDef extends NodeDef, RawS3Config {}

/** The node's credentials: both `password` type (encrypted in flows_cred.json, never sent to the editor). */
export type S3NodeCredentials = S3Credentials;

type S3Node = S3ConfigNode & Node<S3NodeCredentials>;

/**
 * The `pfcam-s3` config node: one S3 (or S3-compatible) bucket and prefix, with its credentials and encryption.
 * It owns one S3Client, shared by its users and destroyed on close.
 */
export default function (RED: NodeAPI): void {
  function PfcamS3Node(this: Node<S3NodeCredentials>, def: S3NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as S3Node;
    let client: S3Client | undefined;
    let options: S3Options | undefined;
    let configError: Error | undefined;
    try {
      options = parseS3Options(def);
      client = new S3Client(s3ClientConfig(options, node.credentials));
    } catch (err) {
      configError = err instanceof Error ? err : new Error(String(err));
      node.error(RED._('pfcam-s3.errors.config', { error: errorText(configError) }));
    }

    Object.defineProperty(node, 'configError', { get: (): Error | undefined => configError });
    node.target = (): { client: S3Client; options: S3Options } => {
      if (!client || !options) throw configError ?? new Error('the S3 configuration is closed');
      return { client, options };
    };

    handleClose(node, () => {
      client?.destroy();
      client = undefined;
      configError ??= new Error('the S3 configuration is closed');
    });
  }

  RED.nodes.registerType('pfcam-s3', PfcamS3Node, {
    credentials: {
      accessKeyId: { type: 'password' },
      secretAccessKey: { type: 'password' },
    },
  });
}
