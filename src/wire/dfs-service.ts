/**
 * The Dfs gRPC service as servers register it and clients call it: the generated
 * definition with the file-transfer methods' codecs swapped for the copy-saving ones of
 * bulk-codecs.ts (same wire format), so neither side can end up with one codec and the
 * other side with the other by accident of import.
 */
import { makeGenericClientConstructor } from "@grpc/grpc-js";
import { DfsService as GeneratedService, type DfsClient as GeneratedStub } from "../gen/dfs.ts";
import {
  decodeDownloadResponse,
  decodeUploadRequest,
  encodeDownloadResponse,
  encodeUploadRequest,
} from "./bulk-codecs.ts";
import { serializeEncoded } from "./framed-message.ts";

/** The Dfs service definition to register and to call. */
export const DFS_SERVICE: typeof GeneratedService = {
  ...GeneratedService,
  download: {
    ...GeneratedService.download,
    // A download's data messages arrive encoded already (bulk-codecs' encodeDownloadData).
    responseSerialize: serializeEncoded(encodeDownloadResponse) as (
      value: Parameters<typeof encodeDownloadResponse>[0],
    ) => Buffer,
    responseDeserialize: decodeDownloadResponse,
  },
  upload: {
    ...GeneratedService.upload,
    requestSerialize: encodeUploadRequest,
    requestDeserialize: decodeUploadRequest,
  },
};

/** The client stub class over {@link DFS_SERVICE} (the generated one's type). */
export const DfsStub = makeGenericClientConstructor(
  DFS_SERVICE,
  "dfs.v1.Dfs",
) as unknown as typeof GeneratedStub;

/** An instance of {@link DfsStub}. */
export type DfsStub = InstanceType<typeof GeneratedStub>;
