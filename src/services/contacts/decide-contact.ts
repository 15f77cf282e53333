/**
 * The contacts' binding of the shared two-way decision (../sync/decide.ts): a party's synchronized
 * fields and how each compares (contact-values.ts).
 */
import * as shared from '../sync/decide.js';
import { CONTACT_FIELDS, type ContactValues, sameContactValue } from './contact-values.js';

export type ContactState = shared.RecordState<ContactValues>;
export type ContactDecision = shared.Decision<ContactValues>;
export type ContactConflict = shared.Conflict<ContactValues>;

export const CONTACT_SPEC: shared.FieldSpec<ContactValues> = {
  fields: CONTACT_FIELDS,
  sameValue: sameContactValue,
};

export function decideContact(state: ContactState): ContactDecision {
  return shared.decide(CONTACT_SPEC, state);
}
