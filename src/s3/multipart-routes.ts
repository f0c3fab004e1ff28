/**
 * Multipart upload operations (owned by helper i21-multipart, who replaces this file):
 * registered into the gateway's router by src/s3/routes.ts.
 */
import type { S3Route } from "./router.ts";

/** The multipart routes; empty until the multipart operations land. */
export const multipartRoutes: readonly S3Route[] = [];
