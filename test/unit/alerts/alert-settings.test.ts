import { describe, expect, it } from 'vitest';
import { MAX_ALERT_RECIPIENTS, normalizeAlertRecipient, parseAlertSettings, validateAlertSettings } from '../../../src/alerts/alert-settings.js';

const addresses = (n: number): string[] => Array.from({ length: n }, (_, i) => `oncall${i}@acme.example`);

describe('alert settings', () => {
  it('normalizes recipients (trimmed, lower case), merges duplicates and keeps their order', () => {
    const result = validateAlertSettings({
      recipients: ' Ops@Acme.Example\n\noncall@acme.example, OPS@acme.example;pager@x.example ',
      delivery: 'daily-digest',
    });
    expect(result).toEqual({ ok: true, value: { recipients: ['ops@acme.example', 'oncall@acme.example', 'pager@x.example'], delivery: 'daily-digest' } });
  });

  it('accepts a list as well as text, and an empty list (alerts off)', () => {
    expect(parseAlertSettings({ recipients: ['A@B.example'], delivery: 'each-event' })).toEqual({ recipients: ['a@b.example'], delivery: 'each-event' });
    expect(parseAlertSettings({ recipients: '', delivery: 'each-event' })).toEqual({ recipients: [], delivery: 'each-event' });
    expect(parseAlertSettings({ recipients: [], delivery: 'daily-digest' }).recipients).toEqual([]);
  });

  it(`accepts ${MAX_ALERT_RECIPIENTS} addresses and refuses one more, saying how many were entered`, () => {
    expect(validateAlertSettings({ recipients: addresses(MAX_ALERT_RECIPIENTS).join('\n'), delivery: 'each-event' }).ok).toBe(true);
    const result = validateAlertSettings({ recipients: addresses(MAX_ALERT_RECIPIENTS + 1).join('\n'), delivery: 'each-event' });
    expect(result).toEqual({ ok: false, problems: [{ field: 'recipients', message: expect.stringContaining('at most 10 addresses; you entered 11') }] });
  });

  it.each([
    ['not-an-address', 'recipients', '"not-an-address" is not an email address'],
    ['Jo <jo@acme.example>', 'recipients', '"Jo", "<jo@acme.example>" are not email addresses'],
    ['jo@localhost', 'recipients', '"jo@localhost" is not an email address'],
    ['jo@@acme.example', 'recipients', 'is not an email address'],
    [`${'x'.repeat(65)}@acme.example`, 'recipients', 'is not an email address'],
    ['a@b.example bad1 bad2', 'recipients', '"bad1", "bad2" are not email addresses'],
  ] as const)('refuses recipients %j (%s)', (recipients, field, message) => {
    const result = validateAlertSettings({ recipients, delivery: 'each-event' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toEqual([{ field, message: expect.stringContaining(message) }]);
  });

  it.each([[undefined], [''], ['weekly'], [7]])('refuses delivery %j', (delivery) => {
    const result = validateAlertSettings({ recipients: 'a@b.example', delivery });
    expect(result).toEqual({ ok: false, problems: [{ field: 'delivery', message: 'Delivery: choose "each event" or "one digest a day".' }] });
  });

  it.each([[42], [null], [[1, 2]], [{ to: 'a@b.example' }]])('refuses recipients that are neither text nor a list of text: %j', (recipients) => {
    expect(() => parseAlertSettings({ recipients, delivery: 'each-event' })).toThrow(expect.objectContaining({ code: 'ERR_ALERT_SETTINGS_INVALID' }));
  });

  it('names every problem at once in ERR_ALERT_SETTINGS_INVALID', () => {
    expect(() => parseAlertSettings({ recipients: 'nope', delivery: 'hourly' })).toThrow(
      expect.objectContaining({ code: 'ERR_ALERT_SETTINGS_INVALID', message: expect.stringMatching(/"nope" is not an email address.*Delivery:/) }),
    );
  });

  it('normalizes one address or says it is none', () => {
    expect(normalizeAlertRecipient('  OnCall@Acme.Example ')).toBe('oncall@acme.example');
    expect(normalizeAlertRecipient('on call@acme.example')).toBeUndefined();
    expect(normalizeAlertRecipient(`a@${'b'.repeat(250)}.example`)).toBeUndefined();
  });
});
