/** Types of registry.mjs (plain JavaScript so the loader thread can import it without tsx). */

/** One source edit: `find` must occur exactly once in `file` (a path under src/). */
export interface Patch {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** A planted bug: its name, why it is a bug, and the edits that plant it. */
export interface Plant {
  readonly name: string;
  readonly description: string;
  readonly patches: readonly Patch[];
  /**
   * Set on a pin, not a bug: a wrong line that today's code cannot reach (why, in short).
   * It stays to pin the assumption that makes it harmless; the table measures bugs only.
   */
  readonly pin?: string;
}

export declare const PLANTS: readonly Plant[];

/** The plant named `name`; throws, listing the known names, if there is none. */
export declare function plantNamed(name: string): Plant;

/** Applies the plant's patches for `file` to `source`; throws unless each find occurs once. */
export declare function patchSource(plant: Plant, file: string, source: string): string;
