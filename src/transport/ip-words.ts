/** Turns the address words of a control record (family<<16|port, then 16 address bytes) into text. */
export interface UdpEndpoint {
  address: string;
  port: number;
  family: 4 | 6;
}

export function addressFromWords(bytes: Uint8Array, byteOffset: number, head: number): UdpEndpoint {
  const port = head & 0xffff;
  const b = bytes.subarray(byteOffset, byteOffset + 16);
  if (head >>> 16 === 4) return { address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}`, port, family: 4 };
  // v4-mapped (::ffff:a.b.c.d) from a dual-stack socket: report the IPv4 peer it really is.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return { address: `${b[12]}.${b[13]}.${b[14]}.${b[15]}`, port, family: 4 };
  }
  return { address: formatIPv6(b), port, family: 6 };
}

/** RFC 5952 text: lowercase, leading zeros dropped, the longest run of ≥ 2 zero groups as "::". */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
