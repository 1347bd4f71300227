// The whole control API as data: every route labd serves, grouped by resource.
import { daemonRoutes } from "./daemon.js";
import { imageRoutes } from "./images.js";
import { mirrorRoutes } from "./mirror.js";
import { networkRoutes } from "./networks.js";
import { snapshotRoutes } from "./snapshots.js";
import { vmRoutes } from "./vms.js";
import { webRoutes } from "./web.js";

export const api = {
  vms: vmRoutes,
  snapshots: snapshotRoutes,
  networks: networkRoutes,
  images: imageRoutes,
  mirror: mirrorRoutes,
  daemon: daemonRoutes,
  web: webRoutes,
};
