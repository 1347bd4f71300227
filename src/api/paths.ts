// Every labd route's method, path and summary, by resource, without its schemas: the client finds
// a route here without loading zod, and loads the schemas (api/<resource>.ts) only to check a
// request or an answer labd did not mark as checked with the same schemas (api/digest.ts).
import type { RoutePath } from "./route.js";

export const vmPaths = {
  list: { method: "GET", path: "/v1/vms", summary: "every VM" },
  get: { method: "GET", path: "/v1/vms/:name", summary: "one VM" },
  create: {
    method: "POST",
    path: "/v1/vms",
    summary: "create (and start) a VM; the same spec again changes nothing",
  },
  start: { method: "POST", path: "/v1/vms/:name/start", summary: "start" },
  stop: { method: "POST", path: "/v1/vms/:name/stop", summary: "stop (ACPI, then kill after the timeout)" },
  restart: { method: "POST", path: "/v1/vms/:name/restart", summary: "stop, then start" },
  destroy: {
    method: "DELETE",
    path: "/v1/vms/:name",
    summary: "destroy; ?forget=true also releases its MAC and IP",
  },
  console: { method: "POST", path: "/v1/vms/:name/console", summary: "the console socket of a running VM" },
  ssh: { method: "GET", path: "/v1/vms/:name/ssh", summary: "how to ssh into a VM" },
} as const satisfies Record<string, RoutePath>;

export const networkPaths = {
  up: { method: "POST", path: "/v1/networks", summary: "create or repair a network" },
  list: { method: "GET", path: "/v1/networks", summary: "every network" },
  get: { method: "GET", path: "/v1/networks/:name", summary: "one network" },
  down: { method: "DELETE", path: "/v1/networks/:name", summary: "remove a network" },
} as const satisfies Record<string, RoutePath>;

export const imagePaths = {
  list: { method: "GET", path: "/v1/images", summary: "images in the store" },
  catalog: { method: "GET", path: "/v1/image-catalog", summary: "images lab can pull" },
  get: { method: "GET", path: "/v1/images/:name", summary: "one image" },
  pull: {
    method: "POST",
    path: "/v1/images/:name/pull",
    summary: "download a catalog image (verified) into the store",
  },
  upload: { method: "POST", path: "/v1/images", summary: "import an uploaded disk or bundle" },
  remove: { method: "DELETE", path: "/v1/images/:name", summary: "remove an image no VM uses" },
} as const satisfies Record<string, RoutePath>;

export const mirrorPaths = {
  status: { method: "GET", path: "/v1/mirror", summary: "the mirror and its artifacts" },
  add: {
    method: "POST",
    path: "/v1/mirror/artifacts",
    summary: "download an artifact (verified) into the mirror",
  },
  upload: { method: "POST", path: "/v1/mirror/uploads", summary: "import an uploaded file into the mirror" },
  remove: { method: "DELETE", path: "/v1/mirror/artifacts/:name", summary: "remove an artifact" },
} as const satisfies Record<string, RoutePath>;

export const daemonPaths = {
  status: { method: "GET", path: "/v1/daemon", summary: "labd itself" },
  stop: { method: "POST", path: "/v1/daemon/stop", summary: "stop labd (VMs keep running)" },
  recover: { method: "POST", path: "/v1/recover", summary: "rebuild ledger entries from VM directories" },
  hostRoutes: { method: "GET", path: "/v1/host/routes", summary: "the host's IPv4 routes and addresses" },
  events: {
    method: "GET",
    path: "/v1/events",
    summary: "live events, one JSON line each, until the client leaves",
  },
} as const satisfies Record<string, RoutePath>;

export const snapshotPaths = {
  list: { method: "GET", path: "/v1/vms/:name/snapshots", summary: "a VM's snapshots" },
  save: { method: "POST", path: "/v1/vms/:name/snapshots", summary: "save a snapshot of one VM" },
  restore: {
    method: "POST",
    path: "/v1/vms/:name/snapshots/:snapshot/restore",
    summary: "return a VM to a snapshot",
  },
  remove: { method: "DELETE", path: "/v1/vms/:name/snapshots/:snapshot", summary: "delete a snapshot" },
  saveLab: {
    method: "POST",
    path: "/v1/snapshots/save",
    summary: "save a snapshot of several VMs, all paused at one instant",
  },
  restoreLab: {
    method: "POST",
    path: "/v1/snapshots/restore",
    summary: "return several VMs to a snapshot, or none of them",
  },
} as const satisfies Record<string, RoutePath>;

export const webPaths = {
  serve: {
    method: "POST",
    path: "/v1/web",
    summary: "serve the web page (started once, moved when asked to listen elsewhere)",
  },
} as const satisfies Record<string, RoutePath>;
