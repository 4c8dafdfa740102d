// Routes one Transport's traffic to the node(s) using it. Usually one node owns its transport;
// several nodes (identities) may share one UDP socket: then datagrams, responses and cookie
// replies go to the node that owns the receiver index, and an initiation to the node whose mac1
// key it was made for.
import type { ControlPacket, DatagramBatch, Transport } from '../transport/transport.js';

export interface MuxMember {
  /** True when this initiation's mac1 was made for this member's static key. */
  initiationIsForMe(packet: ControlPacket): boolean;
  onControl(packet: ControlPacket): void;
  onDatagram(batch: DatagramBatch, i: number): void;
  onDrain(): void;
}

const muxes = new WeakMap<Transport, TransportMux>();

export class TransportMux {
  readonly transport: Transport;
  readonly #members: MuxMember[] = [];
  readonly #owners = new Map<number, MuxMember>();
  readonly #owned: boolean;
  readonly #onControl = (p: ControlPacket): void => this.#control(p);
  readonly #onDatagrams = (b: DatagramBatch): void => this.#datagrams(b);
  readonly #onDrain = (): void => {
    for (const m of this.#members) m.onDrain();
  };

  private constructor(transport: Transport, owned: boolean) {
    this.transport = transport;
    this.#owned = owned;
    transport.on('control', this.#onControl);
    transport.on('datagrams', this.#onDatagrams);
    transport.on('drain', this.#onDrain);
  }

  /** Joins `member` to the transport's mux (made on first use). `owned`: close the transport with the last member. */
  static join(transport: Transport, member: MuxMember, owned: boolean): TransportMux {
    let mux = muxes.get(transport);
    if (mux === undefined) {
      mux = new TransportMux(transport, owned);
      muxes.set(transport, mux);
    }
    mux.#members.push(member);
    return mux;
  }

  get members(): number {
    return this.#members.length;
  }

  claim(index: number, member: MuxMember): void {
    this.#owners.set(index, member);
  }

  release(index: number): void {
    this.#owners.delete(index);
  }

  leave(member: MuxMember): void {
    const i = this.#members.indexOf(member);
    if (i >= 0) this.#members.splice(i, 1);
    for (const [index, m] of this.#owners) if (m === member) this.#owners.delete(index);
    if (this.#members.length > 0) return;
    this.transport.off('control', this.#onControl);
    this.transport.off('datagrams', this.#onDatagrams);
    this.transport.off('drain', this.#onDrain);
    muxes.delete(this.transport);
    if (this.#owned) this.transport.close();
  }

  #control(p: ControlPacket): void {
    const members = this.#members;
    if (members.length === 0) return;
    if (members.length === 1) {
      members[0].onControl(p);
      return;
    }
    let target: MuxMember | undefined;
    if (p.receiver !== 0) target = this.#owners.get(p.receiver);
    else target = members.find((m) => m.initiationIsForMe(p));
    // Nobody's: the first member counts the drop under its reason.
    (target ?? members[0]).onControl(p);
  }

  #datagrams(batch: DatagramBatch): void {
    const members = this.#members;
    if (members.length === 1) {
      const m = members[0];
      for (let i = 0; i < batch.count; i++) m.onDatagram(batch, i);
      return;
    }
    for (let i = 0; i < batch.count; i++) this.#owners.get(batch.session(i))?.onDatagram(batch, i);
  }
}
