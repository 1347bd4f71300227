// The one error type of lab: every failure carries a stable code, an exit code and a one-line hint.

export interface ErrorShape {
  code: string;
  message: string;
  exitCode: number;
  hint?: string;
  details?: Record<string, unknown>;
}

export class LabError extends Error {
  readonly code: string = "internal";
  readonly exitCode: number = 70;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    message: string,
    opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): ErrorShape {
    return {
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      hint: this.hint,
      details: this.details,
    };
  }
}

export class UsageError extends LabError {
  override readonly code = "usage";
  override readonly exitCode = 2;
}
/** A request larger than the API takes (HTTP 413). */
export class TooLargeError extends LabError {
  override readonly code = "too_large";
  override readonly exitCode = 2;
}
export class NotFoundError extends LabError {
  override readonly code = "not_found";
  override readonly exitCode = 3;
}
export class ConflictError extends LabError {
  override readonly code = "conflict";
  override readonly exitCode = 4;
}
export class PermissionError extends LabError {
  override readonly code = "permission";
  override readonly exitCode = 7;
}
export class FleetApiError extends LabError {
  override readonly code = "fleet_api";
  override readonly exitCode = 8;
}
/** etcd answers but without the v2 API fleet speaks: waiting longer cannot help. */
export class EtcdV2MissingError extends LabError {
  override readonly code = "etcd_v2_missing";
  override readonly exitCode = 8;
}
export class InternalError extends LabError {}

export class NotReadyError extends LabError {
  override readonly code = "not_ready";
  override readonly exitCode = 1;
}
export class DownloadError extends LabError {
  override readonly code = "download";
  override readonly exitCode = 5;
}
export class DaemonUnavailableError extends LabError {
  override readonly code = "daemon_unavailable";
  override readonly exitCode = 69;
}
export class BrokenImageError extends LabError {
  override readonly code = "broken_image";
  override readonly exitCode = 70;
}
export class BrokenMirrorIndexError extends LabError {
  override readonly code = "broken_mirror_index";
  override readonly exitCode = 70;
}
export class CorruptLedgerError extends LabError {
  override readonly code = "corrupt_ledger";
  override readonly exitCode = 70;
}
export class InterruptedError extends LabError {
  override readonly code = "interrupted";
  override readonly exitCode = 130;
}

/** A step's own error, prefixed with the step; code, exit code, hint and tool output are kept. */
export class StepFailedError extends LabError {
  constructor(step: { id: string; kind: string; name: string; action: string }, cause: unknown) {
    const e = toLabError(cause);
    super(`${step.kind} ${step.name} (${step.action}) failed: ${e.message}`, {
      hint: e.hint,
      details: { ...e.details, step: step.id },
      cause,
    });
    Object.defineProperty(this, "code", { value: e.code });
    Object.defineProperty(this, "exitCode", { value: e.exitCode });
  }
}

/** An error from labd whose code this client does not know: code and exit code are kept. */
export class RemoteError extends LabError {
  constructor(shape: ErrorShape) {
    super(shape.message, { hint: shape.hint, details: shape.details });
    Object.defineProperty(this, "code", { value: shape.code });
    Object.defineProperty(this, "exitCode", { value: shape.exitCode });
  }
}

export class HostToolError extends LabError {
  override readonly code = "host_tool";
  override readonly exitCode = 5;
  constructor(
    readonly argv: readonly string[],
    readonly toolExitCode: number | undefined,
    readonly stderrTail: string,
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(
      `${argv[0]} failed${toolExitCode === undefined ? "" : ` with exit code ${toolExitCode}`}: ${firstLine(stderrTail)}`,
      { ...opts, details: { argv: [...argv], exitCode: toolExitCode, stderr: stderrTail } },
    );
  }
}

export class MissingToolError extends LabError {
  override readonly code = "missing_tool";
  override readonly exitCode = 6;
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(`${tool} is not installed`, {
      hint: `apt-get install ${debianPackage}   (or run: npm run setup)`,
      details: { tool, package: debianPackage },
    });
  }
}

function firstLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1]?.trim() || "(no output)";
}

const byCode: Record<
  string,
  new (
    m: string,
    o: { hint?: string; details?: Record<string, unknown> },
  ) => LabError
> = {
  usage: UsageError,
  too_large: TooLargeError,
  not_found: NotFoundError,
  conflict: ConflictError,
  permission: PermissionError,
  fleet_api: FleetApiError,
  internal: InternalError,
};

/** Rebuilds an error that crossed the control socket as JSON. */
export function errorFromShape(shape: ErrorShape): LabError {
  if (shape.code === "host_tool") {
    const d = shape.details ?? {};
    const err = new HostToolError(
      (d.argv as string[]) ?? ["?"],
      d.exitCode as number | undefined,
      String(d.stderr ?? ""),
      { hint: shape.hint },
    );
    return err;
  }
  if (shape.code === "missing_tool") {
    const d = shape.details ?? {};
    return new MissingToolError(String(d.tool), String(d.package));
  }
  const Ctor = Object.hasOwn(byCode, shape.code) ? byCode[shape.code] : undefined;
  return Ctor
    ? new Ctor(shape.message, { hint: shape.hint, details: shape.details })
    : new RemoteError(shape);
}

export function toLabError(err: unknown): LabError {
  if (err instanceof LabError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, {
    cause: err,
    hint: "this is a bug in lab; rerun with --debug and report it",
  });
}
