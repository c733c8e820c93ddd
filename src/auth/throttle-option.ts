import { RetentionError } from '../errors.js';

/**
 * A throttle's numeric option, checked: an integer from 1 to `max`, else `ERR_CONFIG_INVALID` naming the throttle
 * and the option.
 *
 * @example
 * this.maxIpFailures = throttleOption('login throttle', 'maxIpFailures', options.maxIpFailures ?? 50, 100_000);
 */
export function throttleOption(throttle: string, name: string, value: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RetentionError('ERR_CONFIG_INVALID', `${throttle} option ${name} must be an integer from 1 to ${max}, not ${value}`);
  }
  return value;
}
