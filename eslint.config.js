// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A relative import that climbs out of src/, worker/ or bin/ into test/ or bench/. */
const NOT_SHIPPED = '^(\\.\\.\\x2F)+(test|bench)(\\x2F|$)';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Production code ships without test/ and bench/: it never imports them, statically or with import().
    files: ['src/**/*.{ts,js}', 'worker/**/*.{ts,js}', 'bin/**/*.js'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: NOT_SHIPPED,
              message: 'production code (src/, worker/, bin/) must not import test/ or bench/: move what it needs into src/ (e.g. src/dev-mongodb/).',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: `ImportExpression > Literal[value=/${NOT_SHIPPED}/]`,
          message: 'production code (src/, worker/, bin/) must not import test/ or bench/: move what it needs into src/ (e.g. src/dev-mongodb/).',
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['views/assets/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', HTMLInputElement: 'readonly', atob: 'readonly' } },
  },
);
