import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "runs" }
  | { page: "run"; id: string }
  | { page: "new" }
  | { page: "compare"; ids: string[] }
  | { page: "sweeps" }
  | { page: "sweep"; id: string };

/** Pages live in the URL's hash, so the server serves one document and every view is linkable. */
export function parseRoute(hash: string): Route {
  const [page, arg] = hash.replace(/^#\/?/, "").split("/");
  if (page === "runs" && arg) return { page: "run", id: decodeURIComponent(arg) };
  if (page === "sweeps") return arg ? { page: "sweep", id: decodeURIComponent(arg) } : { page: "sweeps" };
  if (page === "new") return { page: "new" };
  if (page === "compare") return { page: "compare", ids: (arg ?? "").split(",").filter(Boolean).map(decodeURIComponent) };
  return { page: "runs" };
}

export const href = {
  runs: () => "#/",
  run: (id: string) => `#/runs/${encodeURIComponent(id)}`,
  newRun: () => "#/new",
  compare: (ids: string[]) => `#/compare/${ids.map(encodeURIComponent).join(",")}`,
  sweeps: () => "#/sweeps",
  sweep: (id: string) => `#/sweeps/${encodeURIComponent(id)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
