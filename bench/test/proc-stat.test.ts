/** Parsing of /proc/<pid>/stat, /proc/<pid>/status and /proc/stat for server cost. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  cpuMsOf,
  parseMachineStat,
  parseProcStat,
  parseVmRss,
  rssOf,
  ticksToMs,
} from "../lib/proc-stat.ts";

// Fields: pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
// cmajflt utime stime cutime cstime ...
const STAT =
  "4242 (etcd) S 1 4242 4242 0 -1 4194560 12000 0 3 0 1234 567 89 10 20 0 14 0 " +
  "3456789 11843584000 6912 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

describe("parseProcStat", () => {
  test("reads utime (field 14) and stime (field 15), not the children's times", () => {
    assert.deepEqual(parseProcStat(STAT), { utime: 1234, stime: 567 });
  });

  test("survives a command name with spaces and parentheses", () => {
    const tricky = STAT.replace("(etcd)", "(node (main) x y)");
    assert.deepEqual(parseProcStat(tricky), { utime: 1234, stime: 567 });
  });

  test("rejects text that is not a stat line", () => {
    assert.throws(() => parseProcStat("garbage"), /not a \/proc/);
    assert.throws(() => parseProcStat("1 (x) S 1 2"), /cannot read utime/);
  });

  test("reads this very process", () => {
    const ms = cpuMsOf([process.pid]);
    assert.ok(ms > 0, `cpu ms ${ms}`);
  });
});

describe("parseVmRss", () => {
  test("converts kB to bytes", () => {
    const status = "Name:\tnode\nVmPeak:\t  900000 kB\nVmRSS:\t   98304 kB\nRssAnon:\t 1 kB\n";
    assert.equal(parseVmRss(status), 98304 * 1024);
  });

  test("fails without a VmRSS line (kernel threads have none)", () => {
    assert.throws(() => parseVmRss("Name:\tkthreadd\n"), /no VmRSS/);
  });

  test("reads this very process", () => {
    assert.ok(rssOf(process.pid) > 1024 * 1024);
  });
});

describe("parseMachineStat and ticksToMs", () => {
  test("busy is user+nice+system+irq+softirq+steal; total adds idle and iowait", () => {
    const text = "cpu  100 5 40 1000 7 2 3 9 50 0\ncpu0 50 2 20 500 3 1 1 4 25 0\nintr 1\n";
    assert.deepEqual(parseMachineStat(text), { busy: 159, total: 1166 });
  });

  test("rejects a file without the aggregate line", () => {
    assert.throws(() => parseMachineStat("cpu0 1 2 3 4\n"), /no aggregate/);
  });

  test("ticks at 100 Hz are 10 ms each", () => {
    assert.equal(ticksToMs(1801, 100), 18_010);
    assert.equal(ticksToMs(3, 250), 12);
  });
});
