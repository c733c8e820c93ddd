import { describe, expect, it } from 'vitest';
import { forbiddenError, isAccessRefusal } from '../../../src/access/access-errors.js';
import { CAPABILITIES } from '../../../src/access/capabilities.js';
import { RECORD_TYPES } from '../../../src/records/record-type.js';

describe('forbiddenError', () => {
  it.each(CAPABILITIES)('says in words what a user without %s cannot do, and whom to ask', (capability) => {
    const err = forbiddenError(capability);
    expect(err.code).toBe('ERR_FORBIDDEN');
    expect(err.status).toBe(403);
    expect(isAccessRefusal(err)).toBe(true);
    expect(err.message).toMatch(/^Your account may not [a-z ]+\. Ask the owner of your organisation, or an administrator who manages users, for access\.$/);
    expect(err.message, 'no capability code such as manage-users').not.toMatch(/[a-z]+-[a-z]+/);
  });

  it.each(RECORD_TYPES)('names the data type %s a user has no access to', (type) => {
    const err = forbiddenError({ scope: type });
    expect(err.message).toBe(
      `Your access does not include ${type.replace('-', ' ')}. Ask the owner of your organisation, or an administrator who manages users, for access.`,
    );
    expect(err.message).not.toContain('data scope');
  });

  it('has words for an unknown type and for owner-only actions', () => {
    expect(forbiddenError({ scope: undefined }).message).toContain('Your access does not include this kind of data.');
    expect(forbiddenError('owner').message).toBe('Only the owner of your organisation can do this.');
  });
});
