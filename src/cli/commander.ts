// commander, loaded with require: it is CommonJS, and importing it as an ES module first scans its
// source for export names, which cost about 4 ms of every start (bench:cli). Types come with it.
import { createRequire } from "node:module";

type Commander = typeof import("commander");
const commander = createRequire(import.meta.url)("commander") as Commander;

export const { Argument, Command, CommanderError, Option } = commander;
export type Argument = import("commander").Argument;
export type Command = import("commander").Command;
export type CommanderError = import("commander").CommanderError;
export type Option = import("commander").Option;
