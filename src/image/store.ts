// The image store, $LAB_HOME/images/<name>/{manifest.json, disk, kernel, initrd}: what the rest
// of lab (VM creation and boot) imports. Writes are whole-image and atomic (see staging.ts).
export { type ImportResult, importImage } from "./import.js";
export { removeImage } from "./install.js";
export type { ImageManifest } from "./manifest.js";
export { type PullOptions, type PullResult, pullImage } from "./pull.js";
export { findImage, listImages, type ResolvedImage, resolveImage } from "./resolve.js";
