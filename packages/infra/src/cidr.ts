import { Netmask } from 'netmask';

/**
 * Terraform's `cidrsubnet(prefix, newbits, netnum)` for IPv4, computed at synth so the plan shows the
 * subnet CIDRs and a bad layout fails early.
 * @throws RangeError when netnum does not fit in newbits
 */
export function subnetCidr(prefix: string, newBits: number, netNum: number): string {
  const [ip = '0.0.0.0', bits = '0'] = prefix.split('/');
  const base = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const len = Number(bits) + newBits;
  if (netNum >= 2 ** newBits || len > 32)
    throw new RangeError(`subnet ${netNum} does not fit in ${prefix} with ${newBits} new bits`);
  const network =
    Math.floor(base / 2 ** (32 - Number(bits))) * 2 ** (32 - Number(bits)) + netNum * 2 ** (32 - len);
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${len}`;
}

/**
 * The CIDR blocks with duplicates removed and every block inside another left out (`192.168.20.0/24`
 * inside `192.168.0.0/16`): what a set of security group rules needs, since EC2 refuses a rule that
 * repeats one (`InvalidPermission.Duplicate`) and a rule inside another adds nothing. Order kept.
 */
export function foldCidrs(cidrs: readonly string[]): string[] {
  const blocks = [...new Set(cidrs)].map((c) => ({ cidr: c, net: new Netmask(c) }));
  return blocks
    .filter(
      (a, i) =>
        !blocks.some(
          (b, j) =>
            j !== i &&
            b.net.contains(a.net.base) &&
            b.net.bitmask <= a.net.bitmask &&
            // Two equal networks written differently (10.0.0.1/24, 10.0.0.0/24): keep the first.
            (b.net.bitmask < a.net.bitmask || j < i),
        ),
    )
    .map((b) => b.cidr);
}

/** Whether block `outer` holds every address of block `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const a = new Netmask(outer);
  const b = new Netmask(inner);
  return a.bitmask <= b.bitmask && a.contains(b.base);
}
