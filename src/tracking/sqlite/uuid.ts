// Ids as MLflow's SqlAlchemyStore makes them: `uuid.uuid4().hex` (store/tracking/sqlalchemy_store.py,
// create_run and log_inputs). The 16 random bytes come from /dev/urandom, which is what
// crypto.randomUUID would read too: loading node:crypto cost every embedded stage ~4 ms of start-up.
import fs from 'node:fs';

/** A random (version 4) UUID as 32 lowercase hex digits, without dashes. */
export function uuid4Hex(): string {
  const bytes = Buffer.alloc(16);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    fs.readSync(fd, bytes, 0, 16, null);
  } finally {
    fs.closeSync(fd);
  }
  // RFC 9562 §5.4: the version (4) in the high nibble of byte 6, the variant (10) in the top bits of byte 8.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return bytes.toString('hex');
}
