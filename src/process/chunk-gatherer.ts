// Many small chunks (a command writing 4 KiB at a time) leave in a few large pieces: one system
// call or one message per piece instead of one per chunk, on the thread that passes the output
// through. The chunks are copied into one reused buffer; a chunk as large as the buffer leaves on
// its own, uncopied. Pieces always end where a chunk ends.

/** Takes a piece; its bytes are valid only until it returns (the buffer is reused). */
export type PieceHandler = (piece: Uint8Array) => void;

export class ChunkGatherer {
  readonly #buffer: Uint8Array;
  readonly #onPiece: PieceHandler;
  #length = 0;

  constructor(bytes: number, onPiece: PieceHandler) {
    this.#buffer = new Uint8Array(bytes);
    this.#onPiece = onPiece;
  }

  /** Copies the chunk in; what was gathered before leaves first when the chunk does not fit after it. */
  add(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.length) this.flush();
    if (chunk.length >= this.#buffer.length) return this.#onPiece(chunk);
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  /** What was gathered leaves now. */
  flush(): void {
    if (this.#length === 0) return;
    const piece = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    this.#onPiece(piece);
  }
}
