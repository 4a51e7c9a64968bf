/**
 * A list of destinations as the options write them (auth.exempt-destinations, parent.domains,
 * parent.direct): host names as they are, and `.domain` for a domain and its subdomains
 * (Squid's dstdomain). Matched without regard to case.
 */
export class DomainList {
  private readonly hosts: ReadonlySet<string>;
  private readonly domains: readonly string[];

  constructor(entries: readonly string[]) {
    this.hosts = new Set(entries.filter((h) => !h.startsWith('.')).map((h) => h.toLowerCase()));
    this.domains = entries.filter((h) => h.startsWith('.')).map((h) => h.toLowerCase());
  }

  /** The list as an option writes it: names separated by spaces. */
  static parse(text: string): DomainList {
    return new DomainList(text.split(' ').filter((h) => h !== ''));
  }

  get empty(): boolean {
    return this.hosts.size === 0 && this.domains.length === 0;
  }

  has(host: string): boolean {
    if (this.empty) return false;
    const name = host.toLowerCase();
    return this.hosts.has(name) || this.domains.some((d) => name.endsWith(d) || name === d.slice(1));
  }
}
