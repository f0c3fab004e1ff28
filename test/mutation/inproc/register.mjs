/** `--import` this after tsx: installs hooks.mjs (node:test → the stand-in). */
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
