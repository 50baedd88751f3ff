/**
 * Types and schemas shared by the workflow sandbox and the Node side (gateway, registry, activities, workers).
 * Everything in this folder must be safe to load inside the Temporal workflow sandbox: no Node builtins, no I/O,
 * no module-level mutable state.
 */
export { flowSearchAttributes, searchAttributeCliSpecs } from './search-attributes';
