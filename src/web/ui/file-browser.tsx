/**
 * The file browser: walk prefixes like folders, upload a file into the current one with a
 * progress bar, download, delete, and show a file's size, SHA-256 and version. Shows only
 * what the cluster lists for the visitor (with auth on, what they may list).
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api, upload } from "./api.ts";
import type { FileInfo, ListedEntry } from "./types.ts";

interface FileBrowserProps {
  /** Called when the cluster says the visitor must log in (again). */
  onUnauthenticated: () => void;
}

/** The browser, starting at the top. */
export function FileBrowser({ onUnauthenticated }: FileBrowserProps) {
  const [prefix, setPrefix] = useState("");
  const [entries, setEntries] = useState<ListedEntry[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<(FileInfo & { key: string }) | null>(null);

  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) onUnauthenticated();
      setError(e instanceof Error ? e.message : String(e));
    },
    [onUnauthenticated],
  );

  const refresh = useCallback(async () => {
    setLoading(true);
    try {
      const listing = await api.list(prefix);
      // Folders first, then files, each in key order (the server's order).
      setEntries([
        ...listing.entries.filter((entry) => entry.isDir),
        ...listing.entries.filter((entry) => !entry.isDir),
      ]);
      setTruncated(listing.truncated);
      setError("");
    } catch (e) {
      setEntries([]);
      fail(e);
    } finally {
      setLoading(false);
    }
  }, [prefix, fail]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const open = (dir: string) => {
    setSelected(null);
    setPrefix(dir.replace(/\/$/, ""));
  };
  const stat = async (key: string) => {
    try {
      setSelected(await api.stat(key));
    } catch (e) {
      fail(e);
    }
  };
  const remove = async (key: string) => {
    if (!window.confirm(`Delete ${key}?`)) return;
    try {
      await api.remove(key);
      if (selected?.key === key) setSelected(null);
      await refresh();
    } catch (e) {
      fail(e);
    }
  };

  return (
    <section class="files">
      <Breadcrumbs prefix={prefix} onOpen={open} />
      <Uploader prefix={prefix} onDone={refresh} onError={fail} />
      {error !== "" && (
        <p class="error" role="alert" data-testid="files-error">
          {error}
        </p>
      )}
      <table class="listing" data-testid="listing" aria-busy={loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th class="wide">Size</th>
            <th class="wide">Modified</th>
            <th class="wide">Version</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 && !loading && (
            <tr>
              <td colSpan={5} class="muted">
                Nothing here{prefix === "" ? " yet" : ""}.
              </td>
            </tr>
          )}
          {entries.map((entry) =>
            entry.isDir ? (
              <tr key={entry.name} data-testid="dir-row" data-key={entry.name}>
                <td colSpan={5}>
                  <button type="button" class="link" onClick={() => open(entry.name)}>
                    <FolderIcon /> {leaf(entry.name)}
                  </button>
                </td>
              </tr>
            ) : (
              <tr key={entry.name} data-testid="file-row" data-key={entry.name}>
                <td>
                  <button type="button" class="link" onClick={() => stat(entry.name)}>
                    {leaf(entry.name)}
                  </button>
                </td>
                <td class="wide num">{entry.info ? bytes(entry.info.size) : ""}</td>
                <td class="wide">{entry.info ? when(entry.info.modTimeMs) : ""}</td>
                <td class="wide num">{entry.info?.version ?? ""}</td>
                <td class="actions">
                  <a href={api.downloadUrl(entry.name)} download={leaf(entry.name)}>
                    Download
                  </a>
                  <button type="button" class="danger" onClick={() => remove(entry.name)}>
                    Delete
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      {truncated && <p class="muted">Only the first entries are shown.</p>}
      {selected !== null && <Details info={selected} onClose={() => setSelected(null)} />}
    </section>
  );
}

function Breadcrumbs({ prefix, onOpen }: { prefix: string; onOpen: (dir: string) => void }) {
  const parts = prefix === "" ? [] : prefix.split("/");
  return (
    <nav class="crumbs" data-testid="crumbs">
      <button type="button" class="link" onClick={() => onOpen("")}>
        all files
      </button>
      {parts.map((part, i) => (
        <span key={parts.slice(0, i + 1).join("/")}>
          {" / "}
          <button
            type="button"
            class="link"
            onClick={() => onOpen(parts.slice(0, i + 1).join("/"))}
          >
            {part}
          </button>
        </span>
      ))}
    </nav>
  );
}

interface UploaderProps {
  prefix: string;
  onDone: () => Promise<void>;
  onError: (e: unknown) => void;
}

function Uploader({ prefix, onDone, onError }: UploaderProps) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [abort, setAbort] = useState<(() => void) | null>(null);

  const start = async (e: Event) => {
    e.preventDefault();
    if (file === null) return;
    const key = prefix === "" ? name : `${prefix}/${name}`;
    const transfer = upload(key, file, (sent, total) => setProgress({ sent, total }));
    setProgress({ sent: 0, total: file.size });
    setAbort(() => transfer.abort);
    try {
      await transfer.done;
      setFile(null);
      setName("");
      (e.target as HTMLFormElement).reset();
      await onDone();
    } catch (err) {
      onError(err);
    } finally {
      setProgress(null);
      setAbort(null);
    }
  };

  return (
    <form class="uploader" onSubmit={start}>
      <input
        type="file"
        data-testid="upload-file"
        onChange={(e) => {
          const chosen = (e.target as HTMLInputElement).files?.[0] ?? null;
          setFile(chosen);
          setName(chosen?.name ?? "");
        }}
      />
      <input
        type="text"
        aria-label="Name in this folder"
        placeholder="name (may contain /)"
        value={name}
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={file === null || name === "" || progress !== null}>
        Upload
      </button>
      {progress !== null && (
        <span class="progress">
          <progress
            data-testid="upload-progress"
            max={Math.max(1, progress.total)}
            value={progress.sent}
          />
          {bytes(progress.sent)} / {bytes(progress.total)}
          <button type="button" onClick={() => abort?.()}>
            Cancel
          </button>
        </span>
      )}
    </form>
  );
}

function Details({ info, onClose }: { info: FileInfo & { key: string }; onClose: () => void }) {
  return (
    <aside class="details" data-testid="details">
      <header>
        <strong>{info.key}</strong>
        <button type="button" class="link" onClick={onClose}>
          close
        </button>
      </header>
      <dl>
        <dt>size</dt>
        <dd>
          {bytes(info.size)} ({info.size} bytes)
        </dd>
        <dt>SHA-256</dt>
        <dd class="hash" data-testid="sha256">
          {info.sha256}
        </dd>
        <dt>version</dt>
        <dd>{info.version}</dd>
        <dt>modified</dt>
        <dd>{when(info.modTimeMs)}</dd>
        <dt>chunks</dt>
        <dd>{info.chunks === 0 ? "stored inline" : info.chunks}</dd>
      </dl>
    </aside>
  );
}

/** A folder glyph drawn inline (no icon font: the page loads nothing but its bundle). */
function FolderIcon() {
  return (
    <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path d="M1 3.5A1.5 1.5 0 0 1 2.5 2h3.6l1.5 1.5h5.9A1.5 1.5 0 0 1 15 5v7.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 1 12.5z" />
    </svg>
  );
}

function leaf(name: string): string {
  const trimmed = name.endsWith("/") ? name.slice(0, -1) : name;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) + (name.endsWith("/") ? "/" : "");
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}
