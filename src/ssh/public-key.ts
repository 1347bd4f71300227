// An OpenSSH public key as authorized_keys takes it: one line, "TYPE BASE64 [COMMENT]", whose
// base64 blob starts with the same TYPE (RFC 4253 6.6 string encoding). Anything else (a private
// key, a file with more lines, YAML) is refused before it reaches a cloud-config.

const TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** The key on one line (trimmed), or undefined when the text is not exactly one public key. */
export function parsePublicKey(text: string): string | undefined {
  const line = text.trim();
  // Line breaks of any kind (also U+0085, U+2028, U+2029) and other control characters end here.
  if (/[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(line)) return undefined;
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(line);
  if (!m || !TYPES.has(m[1]!)) return undefined;
  const blob = Buffer.from(m[2]!, "base64");
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (4 + len > blob.length || blob.subarray(4, 4 + len).toString("latin1") !== m[1]) return undefined;
  return line;
}
