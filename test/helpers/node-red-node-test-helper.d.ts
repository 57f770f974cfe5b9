declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';

  interface TestNode extends EventEmitter {
    id: string;
    type: string;
    receive(msg: Record<string, unknown>): void;
    status: { (status: unknown): void; [key: string]: unknown };
    error: { (err: unknown, msg?: unknown): void; [key: string]: unknown };
    warn: { (warning: unknown): void; [key: string]: unknown };
    [key: string]: unknown;
  }

  interface NodeRedTestHelper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    load(
      testNodes: unknown,
      testFlow: unknown[],
      testCredentials?: Record<string, unknown>,
      cb?: () => void,
    ): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    clearFlows(): Promise<void>;
    /** Deploys `testFlow` over the running one: "full", "flows" or "nodes" (only the changed nodes restart). */
    setFlows(
      testFlow: unknown[],
      type?: 'full' | 'flows' | 'nodes',
      testCredentials?: Record<string, unknown>,
    ): Promise<void>;
    startServer(done?: () => void): Promise<void>;
    stopServer(done?: () => void): Promise<void>;
    request(): unknown;
    settings(userSettings: Record<string, unknown>): void;
    url(): string;
    log(): { args: unknown[][] };
    _RED: unknown;
  }

  const helper: NodeRedTestHelper;
  export default helper;
}
