// A plain UDP relay between two nodes on loopback, for tests that need to delay or reorder chosen
// packets without touching node internals. The dialler is given the relay's front endpoint; the
// relay forwards what arrives there to the responder from its back socket, and what the responder
// sends back (to the back socket) to the dialler. `hold(predicate)` keeps the next matching
// dialler → responder packet until the test releases it.
import dgram from 'node:dgram';

export interface HeldPacket {
  packet: Buffer;
  /** Packet type (header byte 1). */
  type: number;
  /** Receiver index from the clear header (selects the key pair it was sealed under). */
  receiver: number;
}

export class Relay {
  readonly #front = dgram.createSocket('udp4');
  readonly #back = dgram.createSocket('udp4');
  readonly #target: { address: string; port: number };
  #dialler: { address: string; port: number } | null = null;
  #holds: { match: (p: HeldPacket) => boolean; resolve: (p: HeldPacket) => void }[] = [];
  /** Dialler → responder packets forwarded, in order. */
  readonly forwarded: HeldPacket[] = [];

  private constructor(target: { address: string; port: number }) {
    this.#target = target;
    this.#front.on('message', (packet, rinfo) => {
      this.#dialler = { address: rinfo.address, port: rinfo.port };
      const p: HeldPacket = { packet, type: packet.length >= 16 ? packet[1] : -1, receiver: packet.length >= 16 ? packet.readUInt32BE(4) : -1 };
      const i = this.#holds.findIndex((h) => h.match(p));
      if (i >= 0) {
        const [h] = this.#holds.splice(i, 1);
        h.resolve(p);
        return;
      }
      this.forwarded.push(p);
      this.#back.send(packet, this.#target.port, this.#target.address);
    });
    this.#back.on('message', (packet) => {
      if (this.#dialler !== null) this.#front.send(packet, this.#dialler.port, this.#dialler.address);
    });
  }

  static async open(target: { address: string; port: number }): Promise<Relay> {
    const r = new Relay(target);
    await Promise.all([r.#front, r.#back].map((s) => new Promise<void>((res) => s.bind(0, '127.0.0.1', res))));
    return r;
  }

  /** Where the dialler sends: the relay's front socket. */
  get endpoint(): { address: string; port: number } {
    return { address: '127.0.0.1', port: this.#front.address().port };
  }

  /** Keeps back the next dialler → responder packet that matches; resolves with it. */
  hold(match: (p: HeldPacket) => boolean): Promise<HeldPacket> {
    return new Promise((resolve) => this.#holds.push({ match, resolve }));
  }

  /** Delivers a held packet to the responder now. */
  release(p: HeldPacket): Promise<void> {
    return new Promise((res, rej) => this.#back.send(p.packet, this.#target.port, this.#target.address, (e) => (e ? rej(e) : res())));
  }

  close(): void {
    this.#front.close();
    this.#back.close();
  }
}
