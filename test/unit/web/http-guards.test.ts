/**
 * The console's HTTP guards without a cluster: the same-origin check on writes, the
 * session cookie (attributes, parsing), the session table's bounds, the download file
 * name, and the ring that bounds the history.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import type { DfsClient } from "../../../src/client/index.ts";
import { checkSameOrigin } from "../../../src/web/csrf.ts";
import { contentDisposition } from "../../../src/web/files-api.ts";
import { HttpError } from "../../../src/web/http-util.ts";
import { Ring } from "../../../src/web/ring.ts";
import { cookieValue, SESSION_COOKIE, Sessions, sessionCookie } from "../../../src/web/sessions.ts";

function request(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

function refusal(req: IncomingMessage): string | null {
  try {
    checkSameOrigin(req);
    return null;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 403);
    return error.code;
  }
}

describe("same-origin check", () => {
  it("lets safe methods through from anywhere", () => {
    assert.equal(refusal(request("GET", { host: "a:1", origin: "http://evil" })), null);
    assert.equal(refusal(request("HEAD", {})), null);
  });

  it("accepts a POST whose Origin is this host, or marked same-origin by the browser", () => {
    assert.equal(refusal(request("POST", { host: "a:1", origin: "http://a:1" })), null);
    assert.equal(refusal(request("POST", { host: "a:1", "sec-fetch-site": "same-origin" })), null);
  });

  it("refuses a POST from another origin, without one, or with a malformed one", () => {
    assert.equal(
      refusal(request("POST", { host: "a:1", origin: "http://evil:1" })),
      "cross_origin",
    );
    assert.equal(refusal(request("POST", { host: "a:1", origin: "http://a:2" })), "cross_origin");
    assert.equal(refusal(request("POST", { host: "a:1" })), "cross_origin");
    assert.equal(refusal(request("POST", { host: "a:1", origin: "null" })), "cross_origin");
    assert.equal(refusal(request("POST", { host: "a:1", origin: "::" })), "cross_origin");
    assert.equal(
      refusal(request("DELETE", { host: "a:1", "sec-fetch-site": "cross-site" })),
      "cross_origin",
    );
  });
});

describe("session cookie", () => {
  it("is HttpOnly, SameSite=Strict, site-wide, Secure only over TLS", () => {
    assert.equal(
      sessionCookie("abc", false),
      `${SESSION_COOKIE}=abc; Path=/; HttpOnly; SameSite=Strict`,
    );
    assert.match(sessionCookie("abc", true), /; Secure$/);
    assert.match(sessionCookie(null, false), new RegExp(`^${SESSION_COOKIE}=; Max-Age=0;`));
  });

  it("is found among other cookies", () => {
    assert.equal(cookieValue(`x=1; ${SESSION_COOKIE}=s3cr3t ; y=2`, SESSION_COOKIE), "s3cr3t");
    assert.equal(cookieValue("x=1", SESSION_COOKIE), undefined);
    assert.equal(cookieValue(undefined, SESSION_COOKIE), undefined);
  });
});

describe("session table", () => {
  const fakeClient = () => {
    const client = { closed: false, close: () => (client.closed = true) };
    return client;
  };
  const withCookie = (id: string) => request("GET", { cookie: `${SESSION_COOKIE}=${id}` });

  it("drops the least recently used session past its bound and closes its client", () => {
    const sessions = new Sessions({ maxSessions: 2 });
    const clients = [fakeClient(), fakeClient(), fakeClient()];
    const a = sessions.add("a", clients[0] as unknown as DfsClient);
    const b = sessions.add("b", clients[1] as unknown as DfsClient);
    assert.equal(sessions.of(withCookie(a.id))?.user, "a"); // a is now the most recent
    sessions.add("c", clients[2] as unknown as DfsClient);
    assert.equal(sessions.size, 2);
    assert.equal(sessions.of(withCookie(b.id)), undefined);
    assert.equal(clients[1]?.closed, true);
    assert.equal(sessions.of(withCookie(a.id))?.user, "a");
  });

  it("forgets an idle session and never accepts a made-up id", () => {
    const sessions = new Sessions({ idleMs: 0 });
    const client = fakeClient();
    const s = sessions.add("a", client as unknown as DfsClient);
    s.lastUsed -= 10;
    assert.equal(sessions.of(withCookie(s.id)), undefined);
    assert.equal(client.closed, true);
    assert.equal(sessions.of(withCookie("guessed")), undefined);
  });
});

describe("download file name", () => {
  it("is the key's last segment, quoted safely and in UTF-8", () => {
    assert.equal(
      contentDisposition("photos/cat.jpg"),
      `attachment; filename="cat.jpg"; filename*=UTF-8''cat.jpg`,
    );
    assert.equal(
      contentDisposition('a/"é\\.txt'),
      `attachment; filename="___.txt"; filename*=UTF-8''%22%C3%A9%5C.txt`,
    );
  });
});

describe("ring", () => {
  it("keeps the newest items, oldest first", () => {
    const ring = new Ring<number>(3);
    assert.equal(ring.last(), undefined);
    for (let i = 1; i <= 5; i++) ring.push(i);
    assert.deepEqual(ring.toArray(), [3, 4, 5]);
    assert.equal(ring.last(), 5);
    assert.equal(ring.size, 3);
    assert.throws(() => new Ring(0), RangeError);
  });
});
