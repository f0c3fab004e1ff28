/**
 * Every S3 operation the gateway serves, in one list the router is built from. Adding
 * an operation = adding its route to the list of its area (buckets, objects, listings,
 * multipart).
 */
import { bucketRoutes } from "./buckets.ts";
import { listingRoutes } from "./listing.ts";
import { multipartRoutes } from "./multipart-routes.ts";
import { objectRoutes } from "./objects.ts";
import type { S3Route } from "./router.ts";

/** All routes the gateway registers. */
export function allRoutes(): S3Route[] {
  return [...bucketRoutes, ...objectRoutes, ...listingRoutes, ...multipartRoutes];
}
