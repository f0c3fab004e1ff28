/**
 * StartupError moved to src/api/ (storage and fsm raise it too, and they may not import
 * the server). This re-export keeps `./errors.ts` working for the server's files until
 * they import it from `../api/index.ts`; then delete this file.
 */
export { StartupError, type StartupErrorKind } from "../api/index.ts";
