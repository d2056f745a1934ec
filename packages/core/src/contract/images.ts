/**
 * The kernel contract: container image references (`image_name`, `executor_image_name`, `KERNEL_IMAGE`,
 * `KERNEL_EXECUTOR_IMAGE`, `--image-name`). One parser, used by the spec CLI at install time, by the
 * provisioner reading kernel.json and by the launcher reading the request.
 */
import { ConfigError, type ValueSource } from '../errors.js';

/**
 * A container image reference as the kernel launcher accepts it (`elyra/kernel-py:3.2.3`,
 * `registry:5000/team/img@sha256:...`): no whitespace, quotes or control characters, at most 512 characters.
 * Checked at install time so a bad `--image-name` fails there, not at every kernel launch.
 */
export const IMAGE_REFERENCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
export const MAX_IMAGE_REFERENCE_LENGTH = 512;

export function parseImageReference(raw: unknown, option = 'image_name', source: ValueSource = { kind: 'default' }): string {
  if (typeof raw === 'string') {
    const ref = raw.trim();
    if (IMAGE_REFERENCE_PATTERN.test(ref) && ref.length <= MAX_IMAGE_REFERENCE_LENGTH) return ref;
  }
  throw new ConfigError(
    option,
    source,
    raw,
    `a container image reference such as elyra/kernel-py:3.2.3 (letters, digits and . _ - / : @, starting with a letter or digit, at most ${MAX_IMAGE_REFERENCE_LENGTH} characters)`,
  );
}

