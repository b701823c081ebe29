// What the emitters return: files as text, relative to the clone directory. Writing them is the caller's job.
export interface GeneratedFile {
  /** Relative path inside the clone directory, e.g. "src/body.c". */
  path: string;
  content: string;
}
