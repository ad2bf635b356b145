/**
 * Removes secrets from text before it is printed or written: the password of a `postgres://` URL, a
 * `password=...` keyword of a libpq connection string, and any value registered with {@link registerSecret}.
 */
const secrets = new Set<string>();

/** Values that must never be printed (passwords read from the environment or Secrets Manager). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** The text with every known secret replaced by `***`. */
export function redact(text: string): string {
  let out = text
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)/gi, '$1***');
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
