/** grpc-js Metadata to and from the form that crosses a MessagePort ({@link WireMetadata}). */
import { Metadata } from "@grpc/grpc-js";
import type { WireMetadata } from "./wire.ts";

/** Every key with all its values. */
export function toWire(metadata: Metadata | undefined): WireMetadata {
  if (metadata === undefined) return [];
  return Object.entries(metadata.toJSON()).map(([key, values]) => [key, values]);
}

/** Metadata rebuilt from {@link toWire}'s form (binary values as Buffers). */
export function fromWire(wire: WireMetadata): Metadata {
  const metadata = new Metadata();
  for (const [key, values] of wire) {
    for (const v of values) {
      metadata.add(
        key,
        typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength),
      );
    }
  }
  return metadata;
}
