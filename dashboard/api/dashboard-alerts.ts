/** The Alerts routes' glue: the notify tables live in the store's database. */
import type { Principal } from '../../lib/auth/permissions';
import {
  preferencesOf,
  recentAlerts,
  savePreferences,
  type AlertView,
  type Preferences,
} from '../../lib/dashboard/alerts';
import type { EventStore } from '../../lib/store/event-store';

export const alertsFor = (store: EventStore, principal: Principal): Promise<AlertView[]> =>
  recentAlerts(store.db, principal);
export const preferencesFor = (store: EventStore, principal: Principal): Promise<Preferences> =>
  preferencesOf(store.db, principal);
export const savePreferencesFor = (
  store: EventStore,
  principal: Principal,
  body: unknown,
): Promise<Preferences> => savePreferences(store.db, principal, body);
