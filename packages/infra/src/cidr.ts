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
