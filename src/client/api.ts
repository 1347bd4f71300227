// The typed client: one method per API route. A request is checked with the route's schema
// before it is sent (a bad one is a usage error naming the field, nothing sent) and the answer
// is parsed with it, so callers get exactly the documented shape.
import path from "node:path";
import type { z } from "zod";
import { daemonRoutes } from "../api/daemon.js";
import { type ImagePullRequest, imageRoutes } from "../api/images.js";
import { type ArtifactAddRequest, mirrorRoutes } from "../api/mirror.js";
import { type NetUpRequest, networkRoutes } from "../api/networks.js";
import { type ApiRoute, fillPath } from "../api/route.js";
import { parseRequest } from "../api/shape.js";
import { type VmCreateRequest, vmRoutes } from "../api/vms.js";
import { DaemonUnavailableError } from "../errors.js";
import { firstProblemText } from "../field-problems.js";
import { type CallOptions, LabClient } from "./client.js";
import type { UploadFile } from "./upload-body.js";

type Params = Record<string, string>;

function answerOf<A extends z.ZodType>(r: ApiRoute<z.ZodType, A>, value: unknown): z.output<A> {
  const parsed = r.answer.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DaemonUnavailableError(
    `labd answered ${r.method} ${r.path} in a shape this lab does not know (${firstProblemText(parsed.error)})`,
    { hint: "labd and the CLI are different versions: restart labd with 'lab daemon stop'" },
  );
}

async function send<B extends z.ZodType, A extends z.ZodType>(
  client: LabClient,
  r: ApiRoute<B, A>,
  params: Params,
  body?: z.input<B>,
  opts: CallOptions & { query?: Params } = {},
): Promise<z.output<A>> {
  const where = `${r.method} ${r.path}`;
  const sent = r.body ? parseRequest(r.body, body ?? {}, where) : undefined;
  const query = opts.query && Object.keys(opts.query).length > 0 ? `?${new URLSearchParams(opts.query)}` : "";
  return answerOf(r, await client.call(r.method, `${fillPath(r.path, params)}${query}`, sent, opts));
}

async function upload<B extends z.ZodType, A extends z.ZodType>(
  client: LabClient,
  r: ApiRoute<B, A>,
  fields: z.input<B>,
  files: UploadFile[],
  opts: CallOptions = {},
): Promise<z.output<A>> {
  const checked = parseRequest(r.body!, fields, `${r.method} ${r.path}`) as Record<string, unknown>;
  return answerOf(r, await client.upload(r.path, checked, files, opts));
}

/** `labApi().vms.create(body)`: every route of labd as a typed call. */
export function labApi(client = new LabClient()) {
  const vm = (name: string) => ({ name });
  return {
    client,
    vms: {
      list: () => send(client, vmRoutes.list, {}),
      get: (name: string) => send(client, vmRoutes.get, vm(name)),
      create: (body: VmCreateRequest, opts?: CallOptions) => send(client, vmRoutes.create, {}, body, opts),
      start: (name: string) => send(client, vmRoutes.start, vm(name)),
      stop: (name: string, body: { timeoutSeconds?: number } = {}) =>
        send(client, vmRoutes.stop, vm(name), body),
      restart: (name: string) => send(client, vmRoutes.restart, vm(name)),
      destroy: (name: string, o: { forget?: boolean } = {}) =>
        send(client, vmRoutes.destroy, vm(name), undefined, { query: o.forget ? { forget: "true" } : {} }),
      console: (name: string) => send(client, vmRoutes.console, vm(name)),
      ssh: (name: string) => send(client, vmRoutes.ssh, vm(name)),
    },
    networks: {
      up: (body: NetUpRequest, opts?: CallOptions) => send(client, networkRoutes.up, {}, body, opts),
      list: () => send(client, networkRoutes.list, {}),
      get: (name: string) => send(client, networkRoutes.get, { name }),
      down: (name: string, opts?: CallOptions) => send(client, networkRoutes.down, { name }, undefined, opts),
    },
    images: {
      list: () => send(client, imageRoutes.list, {}),
      catalog: () => send(client, imageRoutes.catalog, {}),
      get: (name: string) => send(client, imageRoutes.get, { name }),
      pull: (name: string, body: z.input<typeof ImagePullRequest>, opts?: CallOptions) =>
        send(client, imageRoutes.pull, { name }, body, opts),
      /** Uploads a disk file or a bundle directory, read with the caller's own rights. */
      import: async (file: string, name: string | undefined, opts?: CallOptions) => {
        const source = path.resolve(file);
        const { imageFiles } = await import("./imports.js");
        return upload(client, imageRoutes.upload, { name, origin: source }, await imageFiles(source), opts);
      },
      remove: (name: string) => send(client, imageRoutes.remove, { name }),
    },
    mirror: {
      status: () => send(client, mirrorRoutes.status, {}),
      add: (body: ArtifactAddRequest, opts?: CallOptions) => send(client, mirrorRoutes.add, {}, body, opts),
      /** Uploads a file, read with the caller's own rights. */
      import: (req: { name: string; file: string; sha256?: string }, opts?: CallOptions) => {
        const source = path.resolve(req.file);
        const fields = { name: req.name, sha256: req.sha256, origin: source };
        return upload(client, mirrorRoutes.upload, fields, [{ name: "artifact", file: source }], opts);
      },
      remove: (name: string) => send(client, mirrorRoutes.remove, { name }),
    },
    daemon: {
      status: (opts?: CallOptions) => send(client, daemonRoutes.status, {}, undefined, opts),
      stop: (opts?: CallOptions) => send(client, daemonRoutes.stop, {}, undefined, opts),
      recover: (body: { plan?: boolean }) => send(client, daemonRoutes.recover, {}, body),
      hostRoutes: () => send(client, daemonRoutes.hostRoutes, {}),
      /** Streams events until labd goes away. */
      events: (onEvent: (e: z.output<typeof daemonRoutes.events.answer>) => void) =>
        client.follow(daemonRoutes.events.path, (e) => onEvent(answerOf(daemonRoutes.events, e))),
    },
  };
}

export type LabApi = ReturnType<typeof labApi>;
