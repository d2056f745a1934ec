/**
 * The kernel contract: Kubernetes name rules (DNS-1123 labels and subdomains, label values) and the names
 * derived from user input: DNS-1123 labels (pod and namespace names) and label values.
 * Deterministic (the same input always gives the same name, so a provisioner can recompute it) and
 * collision-resistant when cut: a truncated name ends with a short hash of the whole input.
 */
import { createHash } from 'node:crypto';

export const DNS1123_LABEL_MAX = 63;
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** What a DNS-1123 label is, as error messages say it. */
export const DNS1123_LABEL_RULE = 'a DNS-1123 label: at most 63 characters, lowercase letters, digits and "-", starting and ending with a letter or digit';
/** What a DNS-1123 subdomain is, as error messages say it. */
export const DNS1123_SUBDOMAIN_RULE = 'a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
/** What a label value is, as error messages say it. */
export const LABEL_VALUE_RULE = 'a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';

export function isDns1123Label(s: string): boolean {
  return DNS1123_LABEL_RE.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN_RE.test(s);
}

export function isLabelValue(s: string): boolean {
  return s.length <= 63 && LABEL_VALUE_RE.test(s);
}

/** 8 hex characters of SHA-256: enough to keep cut names apart. */
export function shortHash(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('hex').slice(0, 8);
}

/** Lowercase, runs of anything but [a-z0-9] become `-`, no leading/trailing `-` (the reference's rule). */
export function sanitizeDns1123(input: string): string {
  return input
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function cut(s: string, n: number): string {
  return s.slice(0, Math.max(0, n)).replace(/-+$/, '');
}

/**
 * Any string as a DNS-1123 label of at most `max` characters. When the sanitized text is longer than
 * `max`, it is cut and `-<hash of the original input>` appended. Returns '' when nothing usable remains.
 */
export function toDns1123Label(input: string, max = DNS1123_LABEL_MAX): string {
  const clean = sanitizeDns1123(input);
  if (clean.length <= max) return clean;
  const hash = shortHash(input);
  const head = cut(clean, max - hash.length - 1);
  return head ? `${head}-${hash}` : hash;
}

/**
 * `<username>-<kernelId>` as a DNS-1123 label (the pod name and the automatic namespace's name). The kernel id is
 * kept whole at the end so names stay recognisable; a username too long to fit is cut and followed by a hash of
 * the whole username, so two long usernames sharing a prefix still give different names.
 */
export function kernelResourceName(username: string, kernelId: string): string {
  const id = sanitizeDns1123(kernelId);
  const user = sanitizeDns1123(username);
  const joined = user ? `${user}-${id}` : id;
  if (joined.length <= DNS1123_LABEL_MAX) return joined;
  const hash = shortHash(username);
  const room = DNS1123_LABEL_MAX - id.length - hash.length - 2;
  if (room < 1) return toDns1123Label(`${username}-${kernelId}`);
  const head = cut(user, room);
  return head ? `${head}-${hash}-${id}` : `${hash}-${id}`;
}

/**
 * Any string as a valid label value (<= 63, [A-Za-z0-9._-], alphanumeric at both ends). A valid value is kept
 * as is; anything else is cleaned, cut and given a hash of the original so distinct inputs stay distinct.
 */
export function toLabelValue(input: string): string {
  if (isLabelValue(input)) return input;
  const hash = shortHash(input);
  const clean = input.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  const head = clean.slice(0, 63 - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return head ? `${head}-${hash}` : hash;
}
