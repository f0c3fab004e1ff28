/**
 * compareKeys must order keys exactly as LMDB does (their UTF-8 bytes): the write-behind
 * merges pending keys into LMDB's scans with it, and the in-memory store lists and
 * digests with it. Checked against Buffer.compare on seeded random keys from an alphabet
 * that straddles every boundary where UTF-16 and UTF-8 orders part.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareKeys } from "../../../src/fsm/key-range.ts";
import { seededRandom } from "../../support/rng.ts";

const ALPHABET = [
  "a",
  "z",
  "é",
  "\u07FF",
  "\u0800",
  "\uD7FF",
  "\uE000",
  "\uFB01",
  "\uFFFF",
  "\u{10000}",
  "\u{1F600}",
  "\u{10FFFF}",
];

test("compareKeys orders like the keys' UTF-8 bytes (seed 7, 20,000 pairs; SEED=n to replay another)", () => {
  const seed = Number(process.env.SEED ?? 7);
  const rnd = seededRandom(seed);
  const key = () => {
    let s = "";
    for (let n = Math.floor(rnd() * 5); n > 0; n--)
      s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    return s;
  };
  for (let i = 0; i < 20_000; i++) {
    const a = key();
    const b = key();
    const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.equal(Math.sign(compareKeys(a, b)), expected, `seed ${seed}: ${JSON.stringify([a, b])}`);
  }
});
