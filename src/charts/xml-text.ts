/**
 * Escapes text for XML character data and attribute values (`&`, `<`, `>`, `"`, `'`) and drops characters XML 1.0
 * does not allow (control characters other than tab and newlines, lone surrogates, U+FFFE/U+FFFF), so any label
 * ends up as inert text.
 *
 * @example
 * escapeXml('<script>"x"</script>'); // '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
 */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- removing characters XML forbids is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}
