/**
 * The console page: a header with the two views (cluster, files) and the login state. The
 * cluster view is fed by one EventSource for the page's lifetime (the browser reconnects
 * it by itself if the node serving the page restarts).
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { ClusterView } from "./cluster-view.tsx";
import { FileBrowser } from "./file-browser.tsx";
import { LoginForm } from "./login-form.tsx";
import type { LeaderChange, SessionInfo, Tick } from "./types.ts";

/** Polls kept in the page (five minutes at one a second), as on the server. */
const TICKS_KEPT = 300;

type View = "cluster" | "files";

function viewOfHash(): View {
  return location.hash === "#files" ? "files" : "cluster";
}

/** The whole page. */
export function App() {
  const [view, setView] = useState<View>(viewOfHash());
  const [session, setSession] = useState<SessionInfo | null>(null);
  const live = useClusterEvents();

  const loadSession = useCallback(() => {
    api.session().then(setSession, () => setSession({ authEnabled: null, user: null }));
  }, []);
  useEffect(loadSession, [loadSession]);
  useEffect(() => {
    const onHash = () => setView(viewOfHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const needsLogin = session?.authEnabled === true && session.user === null;
  const logout = async () => {
    await api.logout();
    loadSession();
  };

  return (
    <>
      <header class="top">
        <h1>dfs</h1>
        <nav>
          <a href="#cluster" class={view === "cluster" ? "active" : ""}>
            Cluster
          </a>
          <a href="#files" class={view === "files" ? "active" : ""}>
            Files
          </a>
        </nav>
        <span class="who" data-testid="who">
          {session?.user != null ? (
            <>
              {session.user}{" "}
              <button type="button" class="link" onClick={logout}>
                log out
              </button>
            </>
          ) : session?.authEnabled ? (
            "not logged in"
          ) : (
            ""
          )}
        </span>
      </header>
      <main>
        {view === "cluster" ? (
          <ClusterView ticks={live.ticks} leaders={live.leaders} connected={live.connected} />
        ) : session === null ? (
          <p class="muted">Loading…</p>
        ) : needsLogin ? (
          <LoginForm onLoggedIn={(user) => setSession({ ...session, user })} />
        ) : (
          <FileBrowser
            key={session.user ?? ""}
            onUnauthenticated={() => setSession({ authEnabled: true, user: null })}
          />
        )}
      </main>
    </>
  );
}

/** The cluster's history and live polls from GET /api/events. */
function useClusterEvents(): { ticks: Tick[]; leaders: LeaderChange[]; connected: boolean } {
  const [state, setState] = useState<{ ticks: Tick[]; leaders: LeaderChange[] }>({
    ticks: [],
    leaders: [],
  });
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource("/api/events");
    source.addEventListener("snapshot", (e) => {
      const snapshot = JSON.parse((e as MessageEvent).data);
      setState({ ticks: snapshot.ticks, leaders: snapshot.leaders });
      setConnected(true);
    });
    source.addEventListener("tick", (e) => {
      const { tick, change } = JSON.parse((e as MessageEvent).data);
      setState((s) => ({
        ticks: [...s.ticks.slice(-(TICKS_KEPT - 1)), tick],
        leaders: change === null ? s.leaders : [...s.leaders.slice(-99), change],
      }));
      setConnected(true);
    });
    source.onerror = () => setConnected(false);
    return () => source.close();
  }, []);
  return { ...state, connected };
}
