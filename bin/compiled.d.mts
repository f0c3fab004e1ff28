/** URL of `dist/<path>`, or exits (code 2) if dist/ is missing or older than src/. */
export declare function compiled(path: string): string;
