// lab web [--listen ADDR[:PORT]] [--json]: has labd serve the page and prints its URL with the
// token, read from labd's token file with the caller's own rights (root or the lab group).
import { readFile } from "node:fs/promises";
import { labApi } from "../../client/api.js";
import { PermissionError } from "../../errors.js";
import { isLoopback, urlHost } from "../../web/listen.js";

export async function webCommand(opts: { listen?: string; json?: boolean }): Promise<void> {
  const at = await labApi().web.serve({ listen: opts.listen });
  let token: string;
  try {
    token = (await readFile(at.tokenFile, "utf8")).trim();
  } catch (err) {
    throw new PermissionError(`cannot read the web page's token in ${at.tokenFile}`, {
      hint: "run lab as root or as a member of the 'lab' group",
      cause: err,
    });
  }
  // The token rides in the fragment: browsers never send it, so no log or proxy sees it.
  const url = `${at.url}#token=${token}`;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ url, host: at.host, port: at.port })}\n`);
    return;
  }
  process.stdout.write(`${url}\n`);
  if (isLoopback(at.host))
    process.stderr.write(
      `from another machine: keep 'ssh -L ${at.port}:${urlHost(at)}:${at.port} THIS-HOST' open, then open the URL there\n`,
    );
}
