// One rule for removing something that is not there (vm destroy, image rm, mirror rm): it is
// "not found" (exit 3) unless --ignore-missing, which makes it a quiet success. The 'down' verbs
// converge instead and are not covered here.
import { NotFoundError } from "../errors.js";

export interface MissingOpts {
  ignoreMissing?: boolean;
}

const LIST: Record<string, string> = {
  VM: "lab vm list",
  image: "lab image list",
  mirror: "lab mirror list",
};

/** Throws not found for KIND NAME unless --ignore-missing. */
export function missing(kind: string, name: string, opts: MissingOpts): void {
  if (opts.ignoreMissing) return;
  throw new NotFoundError(`no ${kind === "mirror" ? "mirror entry" : kind} named ${name}`, {
    hint: `see '${LIST[kind] ?? "lab --help"}', or pass --ignore-missing when absent is fine`,
  });
}

/** Runs a removal that answers not found by throwing, and turns that into "missing" when allowed. */
export async function allowMissing<T>(run: () => Promise<T>, opts: MissingOpts): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    if (opts.ignoreMissing) return undefined;
    throw new NotFoundError(err.message, {
      hint: `${err.hint ? `${err.hint}; ` : ""}--ignore-missing when absent is fine`,
      details: err.details,
    });
  }
}
