/**
 * Calls of the console's API from the page. Errors come back as `{error, message}` with
 * an HTTP status; they are thrown as {@link ApiError} so views can show the one line and
 * react to 401 (log in again).
 */
import type { FileInfo, ListedEntry, SessionInfo } from "./types.ts";

/** A refused or failed API call: the server's code and one line to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { credentials: "same-origin", ...init });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    body = { message: text };
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      String(body.error ?? res.status),
      String(body.message ?? res.statusText),
    );
  }
  return body as T;
}

function post<T>(path: string, body?: unknown): Promise<T> {
  return call<T>(path, {
    method: "POST",
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
}

const q = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;

export const api = {
  session: () => call<SessionInfo>("/api/session"),
  login: (user: string, password: string) =>
    post<{ user: string }>("/api/login", { user, password }),
  logout: () => post<{ user: null }>("/api/logout"),
  list: (prefix: string) =>
    call<{ prefix: string; entries: ListedEntry[]; truncated: boolean }>(
      `/api/list?${q("prefix", prefix)}`,
    ),
  stat: (key: string) => call<FileInfo & { key: string }>(`/api/stat?${q("key", key)}`),
  remove: (key: string) => post<{ index: number }>(`/api/delete?${q("key", key)}`),
  downloadUrl: (key: string) => `/api/download?${q("key", key)}`,
};

/** Result of an upload: what the cluster stored. */
export interface Uploaded {
  key: string;
  version: number;
  size: number;
  sha256: string;
}

/**
 * Uploads `file` under `key`. XMLHttpRequest rather than fetch because only it reports
 * upload progress; the browser streams the File from disk, it is never read into memory.
 */
export function upload(
  key: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
): { done: Promise<Uploaded>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Uploaded>((resolve, reject) => {
    xhr.open("POST", `/api/upload?${q("key", key)}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      const body = (xhr.response ?? {}) as Record<string, unknown>;
      if (xhr.status === 200) resolve(body as unknown as Uploaded);
      else
        reject(
          new ApiError(
            xhr.status,
            String(body.error ?? xhr.status),
            String(body.message ?? "upload failed"),
          ),
        );
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload was cut off"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "upload cancelled"));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
