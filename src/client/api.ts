// The typed client: one method per API route. A request is checked with the route's schema
// before it is sent (a bad one is a usage error naming the field, nothing sent) and the answer
// is parsed with it, so callers get exactly the documented shape. Routes are found by their
// zod-free paths (api/paths.ts); the schemas (and client/check.ts) load only when there is something
// to check: a request body, or an answer labd did not mark as checked with the same schemas
// (api/digest.ts).
import path from "node:path";
import type { z } from "zod";
import type { daemonRoutes } from "../api/daemon.js";
import { API_DIGEST } from "../api/digest.js";
import type { ImagePullRequest, imageRoutes } from "../api/images.js";
import type { ArtifactAddRequest, mirrorRoutes } from "../api/mirror.js";
import type { NetUpRequest, networkRoutes } from "../api/networks.js";
import {
  daemonPaths,
  imagePaths,
  mirrorPaths,
  networkPaths,
  snapshotPaths,
  vmPaths,
  webPaths,
} from "../api/paths.js";
import { type ApiRoute, fillPath, type RoutePath } from "../api/route.js";
import type { LabSnapshotRequest, snapshotRoutes } from "../api/snapshots.js";
import type { VmCreateRequest, vmRoutes } from "../api/vms.js";
import type { webRoutes } from "../api/web.js";
import { type CallOptions, LabClient } from "./client.js";
import type { UploadFile } from "./upload-body.js";

type Params = Record<string, string>;
type Routes = Record<string, ApiRoute>;
type BodyOf<R> = R extends { body: infer B extends z.ZodType } ? z.input<B> : never;
type AnswerOf<R> = R extends { answer: infer A extends z.ZodType } ? z.output<A> : never;

/** A resource's routes: found without zod, their schemas loaded on first need. */
interface Group<G extends Routes> {
  paths: { [K in keyof G]: RoutePath };
  schemas: () => Promise<G>;
}

const group = <G extends Routes>(paths: { [K in keyof G]: RoutePath }, schemas: () => Promise<G>) => ({
  paths,
  schemas,
});

const vms: Group<typeof vmRoutes> = group(vmPaths, async () => (await import("../api/vms.js")).vmRoutes);
const networks: Group<typeof networkRoutes> = group(
  networkPaths,
  async () => (await import("../api/networks.js")).networkRoutes,
);
const images: Group<typeof imageRoutes> = group(
  imagePaths,
  async () => (await import("../api/images.js")).imageRoutes,
);
const mirror: Group<typeof mirrorRoutes> = group(
  mirrorPaths,
  async () => (await import("../api/mirror.js")).mirrorRoutes,
);
const daemon: Group<typeof daemonRoutes> = group(
  daemonPaths,
  async () => (await import("../api/daemon.js")).daemonRoutes,
);

const snapshots: Group<typeof snapshotRoutes> = group(
  snapshotPaths,
  async () => (await import("../api/snapshots.js")).snapshotRoutes,
);
const web: Group<typeof webRoutes> = group(webPaths, async () => (await import("../api/web.js")).webRoutes);

async function send<G extends Routes, K extends keyof G & string>(
  client: LabClient,
  g: Group<G>,
  name: K,
  params: Params,
  body?: BodyOf<G[K]>,
  opts: CallOptions & { query?: Params } = {},
): Promise<AnswerOf<G[K]>> {
  const p = g.paths[name];
  // A POST may carry a body: the schemas say whether it does, and check it before it is sent.
  const schemas = p.method === "POST" ? (await g.schemas())[name] : undefined;
  const sent = schemas?.body ? (await import("./check.js")).checkRequest(schemas, body ?? {}) : undefined;
  const query = opts.query && Object.keys(opts.query).length > 0 ? `?${new URLSearchParams(opts.query)}` : "";
  const answer = await client.request(p.method, `${fillPath(p.path, params)}${query}`, sent, opts);
  if (answer.checked === API_DIGEST) return answer.result as AnswerOf<G[K]>;
  const { parseAnswer } = await import("./check.js");
  return parseAnswer(schemas ?? (await g.schemas())[name]!, answer.result) as AnswerOf<G[K]>;
}

async function upload<G extends Routes, K extends keyof G & string>(
  client: LabClient,
  g: Group<G>,
  name: K,
  fields: BodyOf<G[K]>,
  files: UploadFile[],
  opts: CallOptions = {},
): Promise<AnswerOf<G[K]>> {
  const r = (await g.schemas())[name]!;
  const { checkRequest, parseAnswer } = await import("./check.js");
  const checked = checkRequest(r, fields) as Record<string, unknown>;
  return parseAnswer(r, await client.upload(r.path, checked, files, opts)) as AnswerOf<G[K]>;
}

/** `labApi().vms.create(body)`: every route of labd as a typed call. */
export function labApi(client = new LabClient()) {
  const vm = (name: string) => ({ name });
  return {
    client,
    vms: {
      list: () => send(client, vms, "list", {}),
      get: (name: string) => send(client, vms, "get", vm(name)),
      create: (body: VmCreateRequest, opts?: CallOptions) => send(client, vms, "create", {}, body, opts),
      start: (name: string) => send(client, vms, "start", vm(name)),
      stop: (name: string, body: { timeoutSeconds?: number } = {}) =>
        send(client, vms, "stop", vm(name), body),
      restart: (name: string) => send(client, vms, "restart", vm(name)),
      destroy: (name: string, o: { forget?: boolean } = {}) =>
        send(client, vms, "destroy", vm(name), undefined, { query: o.forget ? { forget: "true" } : {} }),
      console: (name: string) => send(client, vms, "console", vm(name)),
      ssh: (name: string) => send(client, vms, "ssh", vm(name)),
    },
    snapshots: {
      list: (name: string) => send(client, snapshots, "list", vm(name)),
      save: (name: string, snapshot: string) => send(client, snapshots, "save", vm(name), { snapshot }),
      restore: (name: string, snapshot: string) => send(client, snapshots, "restore", { name, snapshot }),
      remove: (name: string, snapshot: string) => send(client, snapshots, "remove", { name, snapshot }),
      saveLab: (body: z.input<typeof LabSnapshotRequest>) => send(client, snapshots, "saveLab", {}, body),
      restoreLab: (body: z.input<typeof LabSnapshotRequest>) =>
        send(client, snapshots, "restoreLab", {}, body),
    },
    networks: {
      up: (body: NetUpRequest, opts?: CallOptions) => send(client, networks, "up", {}, body, opts),
      list: () => send(client, networks, "list", {}),
      get: (name: string) => send(client, networks, "get", { name }),
      down: (name: string, opts?: CallOptions) => send(client, networks, "down", { name }, undefined, opts),
    },
    images: {
      list: () => send(client, images, "list", {}),
      catalog: () => send(client, images, "catalog", {}),
      get: (name: string) => send(client, images, "get", { name }),
      pull: (name: string, body: z.input<typeof ImagePullRequest>, opts?: CallOptions) =>
        send(client, images, "pull", { name }, body, opts),
      /** Uploads a disk file or a bundle directory, read with the caller's own rights. */
      import: async (file: string, name: string | undefined, opts?: CallOptions) => {
        const source = path.resolve(file);
        const { imageFiles } = await import("./imports.js");
        const fields = { name, origin: source };
        return upload(client, images, "upload", fields, await imageFiles(source), opts);
      },
      remove: (name: string) => send(client, images, "remove", { name }),
    },
    mirror: {
      status: () => send(client, mirror, "status", {}),
      add: (body: ArtifactAddRequest, opts?: CallOptions) => send(client, mirror, "add", {}, body, opts),
      /** Uploads a file, read with the caller's own rights. */
      import: (req: { name: string; file: string; sha256?: string }, opts?: CallOptions) => {
        const source = path.resolve(req.file);
        const fields = { name: req.name, sha256: req.sha256, origin: source };
        return upload(client, mirror, "upload", fields, [{ name: "artifact", file: source }], opts);
      },
      remove: (name: string) => send(client, mirror, "remove", { name }),
    },
    web: {
      serve: (body: { listen?: string }) => send(client, web, "serve", {}, body),
    },
    daemon: {
      status: (opts?: CallOptions) => send(client, daemon, "status", {}, undefined, opts),
      stop: (opts?: CallOptions) => send(client, daemon, "stop", {}, undefined, opts),
      recover: (body: { plan?: boolean }) => send(client, daemon, "recover", {}, body),
      hostRoutes: () => send(client, daemon, "hostRoutes", {}),
      /** Streams events until labd goes away (labd does not check live events: each is parsed here). */
      events: async (onEvent: (e: AnswerOf<typeof daemonRoutes.events>) => void) => {
        const r = (await daemon.schemas()).events;
        const { parseAnswer } = await import("./check.js");
        return client.follow(r.path, (e) => onEvent(parseAnswer(r, e) as AnswerOf<typeof r>));
      },
    },
  };
}

export type LabApi = ReturnType<typeof labApi>;
