/**
 * Takes the console screenshots in docs/images/ (`npm run screenshots`): a real 3-node
 * cluster under a steady put load, with the leader killed and restarted midway so the
 * timeline has a change to show, photographed at desktop and phone sizes. Not a test: it
 * asserts nothing, it only refreshes the pictures docs/console.md shows.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { type LocalCluster, REPO_ROOT } from "../../src/cluster/index.ts";
import { launchChromium, startConsoleCluster } from "./support.ts";

const OUT = join(REPO_ROOT, "docs", "images");
const DESKTOP = { width: 1280, height: 1000 };
const PHONE = { width: 390, height: 844 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Puts 4 KiB values from `workers` loops until `stop()`; errors (failover) are retried. */
function load(cluster: LocalCluster, workers: number) {
  const client = cluster.client();
  let running = true;
  const value = Buffer.alloc(4096, 7);
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      await client.put(`load/w${w}/k${i % 200}`, value).catch(() => sleep(100));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      client.close();
    },
  };
}

async function seedFiles(cluster: LocalCluster): Promise<void> {
  const client = cluster.client();
  try {
    const files: [string, number][] = [
      ["photos/2026/cat.jpg", 734_003],
      ["photos/2026/dog.jpg", 1_482_113],
      ["photos/readme.txt", 1_204],
      ["backups/db-2026-12-06.tar.gz", 5 * 1024 * 1024 + 3],
      ["notes.md", 2_048],
    ];
    for (const [key, size] of files) await client.upload(key, Buffer.alloc(size, key.length));
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  let browser: Browser | undefined;
  const { cluster, consoleUrl } = await startConsoleCluster(3, { checkInvariants: false });
  try {
    browser = await launchChromium();
    await seedFiles(cluster);
    const loader = load(cluster, 16);
    const leader = await cluster.waitForLeader();
    const url = consoleUrl(cluster.ids().find((id) => id !== leader) as number);
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(`${url}/#cluster`);
    await sleep(15_000);
    await cluster.kill(leader, "SIGKILL");
    await sleep(6_000);
    await cluster.restart(leader);
    await sleep(12_000);
    await page.screenshot({ path: join(OUT, "console-cluster.png"), fullPage: true });
    await page.goto(`${url}/#files`);
    await page.locator('[data-testid="dir-row"][data-key="photos/"] button').click();
    await page.locator('[data-testid="dir-row"][data-key="photos/2026/"] button').click();
    await page
      .locator('[data-testid="file-row"][data-key="photos/2026/cat.jpg"]')
      .getByRole("button", { name: "cat.jpg" })
      .click();
    await page.locator('[data-testid="details"]').waitFor();
    await page.screenshot({ path: join(OUT, "console-files.png"), fullPage: true });

    const phone = await browser.newPage({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true });
    await phone.goto(`${url}/#cluster`);
    await sleep(3_000);
    await phone.screenshot({ path: join(OUT, "console-cluster-phone.png") });
    await phone.goto(`${url}/#files`);
    await phone.locator('[data-testid="dir-row"][data-key="photos/"]').waitFor();
    await phone.screenshot({ path: join(OUT, "console-files-phone.png") });
    await loader.stop();
    process.stdout.write(`screenshots written to ${OUT}\n`);
  } finally {
    await browser?.close();
    await cluster.destroy();
  }
}

await main();
