/**
 * Progressive enhancement of the portal's password fields (views/partials/password-field.ejs); the forms work the
 * same without it, and the server checks every password again.
 * - "Show password" (OWASP ASVS 2.1.12): the toggle button, hidden until this script runs, switches its input
 *   between type="password" and type="text" and says so with aria-pressed; the input returns to type="password"
 *   before its form is submitted. Nothing is sent anywhere: no request is made with the password.
 * - Strength meter (ASVS 2.1.8) on inputs with data-strength-min-length: the policy's checks and an estimate of the
 *   strength as the person types (password-strength.js); the list of common passwords is loaded only on pages that
 *   have a meter.
 */
import { assessPassword, contextTermsOf, decodeCommonPasswordFilter } from './password-strength.js';

function enhanceShowPasswordToggles() {
  for (const button of document.querySelectorAll('button.show-password[aria-controls]')) {
    const input = document.getElementById(button.getAttribute('aria-controls') ?? '');
    if (!(input instanceof HTMLInputElement)) continue;
    const show = (visible) => {
      input.type = visible ? 'text' : 'password';
      button.setAttribute('aria-pressed', String(visible));
    };
    button.addEventListener('click', () => show(input.type === 'password'));
    input.form?.addEventListener('submit', () => show(false));
    // Back/forward cache: a page restored from it shows the password hidden again.
    window.addEventListener('pageshow', () => show(false));
    button.hidden = false;
  }
}

/** @param {string | undefined} json */
function parseTerms(json) {
  try {
    const terms = JSON.parse(json ?? '[]');
    return Array.isArray(terms) ? terms.filter((t) => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function enhanceStrengthMeters() {
  const inputs = [...document.querySelectorAll('input[data-strength-min-length]')].filter((input) => input instanceof HTMLInputElement);
  if (inputs.length === 0) return;
  /** @type {{ mayContain(text: string): boolean } | undefined} */
  let commonPasswords;
  const updates = [];
  for (const input of inputs) {
    const meter = document.getElementById(`${input.id}-strength`);
    const text = meter?.querySelector('.strength-text');
    const details = meter?.querySelector('.strength-problems');
    if (meter == null || text == null || details == null) continue;
    const minLength = Number(input.dataset.strengthMinLength) || 12;
    const fixedTerms = parseTerms(input.dataset.strengthTerms);
    const emailField = input.dataset.strengthEmailField ?? '';
    const nameField = input.dataset.strengthNameField ?? '';
    const fieldValue = (id) => {
      const field = document.getElementById(id);
      return field instanceof HTMLInputElement ? field.value : '';
    };
    const update = () => {
      const contextTerms = [...fixedTerms, ...contextTermsOf({ email: fieldValue(emailField), displayName: fieldValue(nameField) })];
      const result = assessPassword(input.value, { minLength, contextTerms, commonPasswords });
      meter.dataset.score = result.empty ? '' : String(result.score);
      text.replaceChildren();
      details.replaceChildren();
      if (result.empty) return;
      const label = document.createElement('strong');
      label.textContent = result.label;
      text.append(label, ` — ${result.message}`);
      for (const problem of result.problems.slice(1)) {
        const item = document.createElement('li');
        item.textContent = problem.message;
        details.append(item);
      }
    };
    input.addEventListener('input', update);
    for (const id of [emailField, nameField]) if (id !== '') document.getElementById(id)?.addEventListener('input', update);
    meter.hidden = false;
    updates.push(update);
    update();
  }
  import('./common-password-filter.js').then(
    ({ COMMON_PASSWORD_FILTER }) => {
      commonPasswords = decodeCommonPasswordFilter(COMMON_PASSWORD_FILTER);
      for (const update of updates) update();
    },
    () => {
      // Without the list the meter still checks length, context words and repetition; the server checks the list.
    },
  );
}

enhanceShowPasswordToggles();
enhanceStrengthMeters();
