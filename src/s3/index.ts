/** The S3 gateway (docs/s3.md): an HTTP server translating S3 calls into DfsClient calls. */
export { dfsKey, type S3Caller, type S3Context } from "./context.ts";
export { S3Error, s3Errors, toS3Error } from "./errors.ts";
export { S3Gateway, type S3GatewayOptions } from "./gateway.ts";
export {
  AutoKeys,
  ClusterKeys,
  type KeyScope,
  type S3CredentialsAnswer,
  type S3CredentialsCall,
  type S3Identity,
  type SigningKeySource,
  StaticKeys,
} from "./keys.ts";
export { readSmallBody, readXmlBody, sendEmpty, sendError, sendXml } from "./respond.ts";
export { type S3Handler, type S3Route, S3Router, type S3Target } from "./router.ts";
export { parseXml, toXml } from "./xml.ts";
