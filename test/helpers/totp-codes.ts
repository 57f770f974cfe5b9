/**
 * TOTP codes for tests that sign the same user in more than once: the server never accepts a time step twice,
 * so each code handed out is of a step after the last one used for that secret (the next step is accepted too);
 * when both are used, this waits for the clock to reach a new step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TOTP_PERIOD, totpCode } from '../../lib/auth/totp';

const lastStep = new Map<string, number>();

export async function freshTotpCode(secret: string): Promise<string> {
  for (;;) {
    const now = Math.floor(Date.now() / 1000 / TOTP_PERIOD);
    const step = Math.max(now, (lastStep.get(secret) ?? -Infinity) + 1);
    if (step <= now + 1) {
      lastStep.set(secret, step);
      return totpCode(secret, step * TOTP_PERIOD);
    }
    await sleep((now + 1) * TOTP_PERIOD * 1000 - Date.now() + 50);
  }
}
