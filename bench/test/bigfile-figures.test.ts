/** The big-file benchmark's pure figures: /proc status lines, peaks, disk goal, medians. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  diskUsed,
  median,
  mibPerS,
  Peaks,
  secondsBelow,
  statusKb,
} from "../lib/bigfile-figures.ts";

const STATUS = "Name:\tnode\nVmHWM:\t  853000 kB\nVmRSS:\t  400000 kB\nRssAnon:\t  330000 kB\n";

describe("big-file figures", () => {
  test("reads VmHWM, VmRSS and RssAnon in bytes; undefined when absent", () => {
    assert.equal(statusKb(STATUS, "VmHWM"), 853000 * 1024);
    assert.equal(statusKb(STATUS, "RssAnon"), 330000 * 1024);
    assert.equal(statusKb("Name:\tx\n", "VmRSS"), undefined);
  });

  test("keeps the largest sample per key", () => {
    const p = new Peaks();
    p.add(1, 5);
    p.add(1, 3);
    p.add(2, 7);
    assert.equal(p.of(1), 5);
    assert.equal(p.of(3), 0);
    assert.equal(p.max(), 7);
  });

  test("the first second under a fraction of the peak, or undefined", () => {
    const samples = [
      { seconds: 0, bytes: 100 },
      { seconds: 1, bytes: 50 },
      { seconds: 2, bytes: 9 },
    ];
    assert.equal(secondsBelow(samples, 100, 0.1), 2);
    assert.equal(secondsBelow(samples, 100, 0.05), undefined);
  });

  test("medians and rates", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(mibPerS(10 * 1024 * 1024, 2000), 5);
  });

  test("disk use counts allocated blocks under a tree; 0 for a missing dir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bigfile-figures-"));
    try {
      await writeFile(join(dir, "a"), Buffer.alloc(64 * 1024, 1));
      assert.ok((await diskUsed(dir)) >= 64 * 1024);
      assert.equal(await diskUsed(join(dir, "missing")), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
