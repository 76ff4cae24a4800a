/**
 * Kept so that imports of the old single-file module (`connectors/http.js`) keep working while the
 * pipeline is being split into stages; new code imports `connectors/http/index.js`.
 */
export * from './http/index.js';
