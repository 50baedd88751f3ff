/**
 * The version of Flow's action SDK (`flow/sdk`), in semantic versioning: a new major breaks packs written against the
 * previous one, a new minor adds to the SDK. Every pack records the version it was defined with, and a worker refuses
 * a pack of another major at start. The changes are listed in docs/action-packs.md.
 */
export const SDK_VERSION = '1.1.0';
