// The web page's route: `lab web` asks labd to serve the page and learns where it listens.
import { z } from "zod";
import { webPaths } from "./paths.js";
import { withSchemas } from "./route.js";

export const WebListening = z.object({
  url: z.string(),
  host: z.string(),
  port: z.number(),
  /** The page's secret token, readable by root and the lab group. */
  tokenFile: z.string(),
});
export type WebListening = z.output<typeof WebListening>;

export const webRoutes = withSchemas(webPaths, {
  serve: {
    /** ADDR[:PORT]; default 127.0.0.1:7780. */
    body: z.strictObject({ listen: z.string().optional() }),
    answer: WebListening,
  },
});
