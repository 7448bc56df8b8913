/*
 * usr.bin/ident.ts — ident(1): list the RCS-style keyword strings in files.
 *
 * Scans bytes for `$Keyword: text $` (keyword letters only, text without '$' or a
 * newline) and prints each one, as FreeBSD's ident does on sources and binaries.  This
 * is how the `$Vimage: ... $` idents of kernel objects and modules — and the vendor
 * `$Id: ... $` strings they carry, never rewritten — are read back from a module file.
 */

/** Every `$Keyword: ... $` string in the bytes, in order, byte for byte. */
export function ident_scan(buf: Uint8Array): string[] {
  const out: string[] = [];
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    if (buf[i] !== 0x24 /* $ */) continue;
    let j = i + 1;
    while (j < n && isAlpha(buf[j]!)) j++;
    if (j === i + 1 || j >= n || buf[j] !== 0x3a /* : */) continue;
    let e = j + 1;
    while (e < n && buf[e] !== 0x24 && buf[e] !== 0x0a && buf[e] !== 0x0d) e++;
    if (e >= n || buf[e] !== 0x24) continue;
    if (buf[j + 1] !== 0x20 || buf[e - 1] !== 0x20) continue; // "$Key: text $" form only
    out.push(new TextDecoder('latin1').decode(buf.subarray(i, e + 1)));
    i = e;
  }
  return out;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** ident [-q] file ...: the text ident(1) prints, and its exit status. */
export function ident_format(
  files: readonly { name: string; data: Uint8Array | null }[],
  quiet = false,
): { out: string; err: string; status: number } {
  let out = '';
  let err = '';
  let status = 0;
  for (const f of files) {
    if (f.data === null) {
      err += `ident: ${f.name}: No such file or directory\n`;
      status = 1;
      continue;
    }
    const ids = ident_scan(f.data);
    out += `${f.name}:\n`;
    if (ids.length === 0) {
      if (!quiet) err += `ident warning: no id keywords in ${f.name}\n`;
      status = status || 1;
    }
    for (const id of ids) out += `     ${id}\n`;
  }
  return { out, err, status };
}
