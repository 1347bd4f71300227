// The whole control API as data: every route labd serves, grouped by resource.
import { daemonRoutes } from "./daemon.js";
import { imageRoutes } from "./images.js";
import { mirrorRoutes } from "./mirror.js";
import { networkRoutes } from "./networks.js";
import { vmRoutes } from "./vms.js";

export const api = {
  vms: vmRoutes,
  networks: networkRoutes,
  images: imageRoutes,
  mirror: mirrorRoutes,
  daemon: daemonRoutes,
};
