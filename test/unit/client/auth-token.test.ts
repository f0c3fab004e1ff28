/**
 * The token holder on a fake clock: when it logs in (lazily, once for concurrent callers),
 * when it renews (before expiry, by the token's own lifetime on the client's clock), and
 * which refusals make it log in again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { type IssuedToken, TokenHolder, tokenLifetimeMs } from "../../../src/client/auth-token.ts";

function jwt(iat: number, exp: number, n = 0): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "HS256" })}.${part({ sub: "a", gen: 1, iat, exp, n })}.sig`;
}

describe("tokenLifetimeMs", () => {
  it("counts exp - iat less the second iat was rounded down by", () => {
    assert.equal(tokenLifetimeMs(jwt(1000, 1300)), 299_000);
    assert.equal(tokenLifetimeMs(jwt(1000, 1002)), 1_000);
    assert.equal(tokenLifetimeMs(jwt(1000, 1001)), 500, "never less than half");
  });
  it("is undefined for what is not a JWT with numeric iat and exp", () => {
    for (const token of ["", "abc", "a.!!!.c", jwt(5, 4), "a.e30.c"]) {
      assert.equal(tokenLifetimeMs(token), undefined, token);
    }
  });
});

describe("TokenHolder", () => {
  const setup = (ttlS = 300) => {
    let clock = 1_000_000;
    const logins: number[] = [];
    const holder = new TokenHolder(
      { user: "a", password: "p" },
      async (): Promise<IssuedToken> => {
        logins.push(clock);
        const iat = Math.floor(clock / 1000);
        return { token: jwt(iat, iat + ttlS, logins.length), expiresMs: (iat + ttlS) * 1000 };
      },
      undefined,
      () => clock,
    );
    return { holder, logins, advance: (ms: number) => (clock += ms) };
  };

  it("logs in once for concurrent callers and renews 30 s before a 300 s token ends", async () => {
    const { holder, logins, advance } = setup();
    assert.equal(holder.current(), undefined, "lazy: nothing before the first call");
    await Promise.all([holder.ensure(), holder.ensure(), holder.ensure()]);
    assert.equal(logins.length, 1);
    const first = holder.current();
    advance(268_999); // 299 s lifetime − 30 s ahead = 269 s
    await holder.ensure();
    assert.equal(holder.current(), first);
    advance(1);
    await holder.ensure();
    assert.equal(logins.length, 2);
    assert.notEqual(holder.current(), first);
    assert.equal(holder.epoch(), 2, "each new token bumps the epoch (streams reopen)");
  });

  it("renews a 2 s token a quarter of its counted second ahead", async () => {
    const { holder, logins, advance } = setup(2);
    await holder.ensure();
    advance(749);
    await holder.ensure();
    assert.equal(logins.length, 1);
    advance(1);
    await holder.ensure();
    assert.equal(logins.length, 2);
  });

  it("logs in again after 'token expired' or 'invalid token', not after 'token revoked'", async () => {
    const { holder, logins } = setup();
    await holder.ensure();
    const sent = holder.current();
    const revoked = new DfsError(
      "unauthenticated",
      "token revoked (user deleted or password changed); log in again",
    );
    assert.equal(holder.shouldRenew(revoked, sent), false);
    assert.equal(
      holder.shouldRenew(new DfsError("permission_denied", "user a lacks read on k"), sent),
      false,
    );
    const expired = new DfsError("unauthenticated", "token expired; log in again");
    assert.equal(holder.shouldRenew(expired, sent), true);
    await holder.ensure();
    assert.equal(logins.length, 2);
    const invalid = new DfsError(
      "unauthenticated",
      "invalid token (not signed by this cluster); log in again",
    );
    assert.equal(holder.shouldRenew(invalid, holder.current()), true);
    const required = new DfsError(
      "unauthenticated",
      "authentication required: auth is on; give --user",
    );
    assert.equal(holder.shouldRenew(required, undefined), true, "nothing was sent: log in");
  });

  it("a holder without a login never logs in and never asks for a retry", async () => {
    const holder = new TokenHolder(undefined, () => Promise.reject(new Error("no")), "given");
    await holder.ensure();
    assert.equal(holder.current(), "given");
    const expired = new DfsError("unauthenticated", "token expired; log in again");
    assert.equal(holder.shouldRenew(expired, "given"), false);
  });
});
