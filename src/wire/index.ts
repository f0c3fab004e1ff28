/** Public surface of the gRPC helpers shared by the server and the transport. */
export { type GuardedService, type GuardReport, guardService } from "./guarded-service.ts";
export {
  bytesFieldSize,
  lengthDelimitedSize,
  ProtoWriter,
  presentUintFieldSize,
  uintFieldSize,
  utf8Length,
  varintSize,
} from "./proto-writer.ts";
