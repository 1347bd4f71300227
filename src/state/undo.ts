// Multi-step applies record an undo per step; on failure the undos run once, in reverse.

export class UndoStack {
  private undos: { name: string; fn: () => Promise<void> }[] = [];

  push(name: string, fn: () => Promise<void>): void {
    this.undos.push({ name, fn });
  }

  /** Runs every undo in reverse order; an undo that fails does not stop the others. */
  async rollback(): Promise<string[]> {
    const failures: string[] = [];
    for (const { name, fn } of this.undos.reverse()) {
      try {
        await fn();
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
    this.undos = [];
    return failures;
  }
}

/**
 * Runs `body` with an undo stack; rolls back and rethrows if it fails. Undos that fail are not
 * dropped: they go with the error, as details.rollbackFailures ("step: message" each).
 */
export async function withRollback<T>(body: (undo: UndoStack) => Promise<T>): Promise<T> {
  const undo = new UndoStack();
  try {
    return await body(undo);
  } catch (err) {
    const failures = await undo.rollback();
    if (failures.length > 0 && err !== null && typeof err === "object") {
      const e = err as { details?: Record<string, unknown> };
      e.details = { ...e.details, rollbackFailures: failures };
    }
    throw err;
  }
}
