const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_LENGTH = 16;

/** `wh_` and 16 uniformly random base62 characters (about 95 bits). */
export function newSubscriptionId(): string {
  let id = "wh_";
  while (id.length < 3 + ID_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(ID_LENGTH))) {
      // 248 = 4 * 62: bytes above it are dropped so that every character is equally likely
      if (byte < 248 && id.length < 3 + ID_LENGTH) id += BASE62[byte % 62];
    }
  }
  return id;
}
