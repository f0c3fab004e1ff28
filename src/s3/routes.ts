/**
 * Every S3 operation the gateway serves, in one list the router is built from. Adding
 * an operation = adding its route here (or to the list of its area).
 */
import { multipartRoutes } from "./multipart-routes.ts";
import type { S3Route } from "./router.ts";

/** Bucket, object and listing operations (filled in by the gateway's handlers). */
export const coreRoutes: S3Route[] = [];

/** All routes the gateway registers. */
export function allRoutes(): S3Route[] {
  return [...coreRoutes, ...multipartRoutes];
}
