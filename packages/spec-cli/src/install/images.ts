/**
 * Default kernel images, one table. They are published Jupyter Enterprise Gateway images, which speak the
 * same launcher wire protocol, so generated specs work out of the box.
 */
export const DEFAULT_IMAGE_TAG = '3.2.3';

export type ImageKey = 'python' | 'r' | 'scala' | 'spark-python' | 'spark-r' | 'spark-scala' | 'spark-operator' | 'tensorflow';

export const DEFAULT_IMAGES: Readonly<Record<ImageKey, string>> = Object.freeze({
  python: `elyra/kernel-py:${DEFAULT_IMAGE_TAG}`,
  r: `elyra/kernel-r:${DEFAULT_IMAGE_TAG}`,
  scala: `elyra/kernel-scala:${DEFAULT_IMAGE_TAG}`,
  'spark-python': `elyra/kernel-spark-py:${DEFAULT_IMAGE_TAG}`,
  'spark-r': `elyra/kernel-spark-r:${DEFAULT_IMAGE_TAG}`,
  // As the reference: the Scala (Toree) image already carries Spark.
  'spark-scala': `elyra/kernel-scala:${DEFAULT_IMAGE_TAG}`,
  'spark-operator': `elyra/kernel-spark-py:${DEFAULT_IMAGE_TAG}`,
  tensorflow: `elyra/kernel-tf-py:${DEFAULT_IMAGE_TAG}`,
});
