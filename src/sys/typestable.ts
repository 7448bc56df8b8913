/*
 * sys/typestable.ts — the latest object of each short-lived kernel type stays
 * referenced, so the JavaScript engine's code specialised to that type survives the
 * moments when no such object is alive.
 *
 * V8 compiles hot functions against the hidden classes (maps) of the objects they
 * see and holds those maps weakly: when a full garbage collection finds no live
 * object of a type — every connection closed, every process exited, no packet in
 * flight — the type's map dies and each function optimised against it is thrown away
 * ("weak objects" in --trace-deopt).  The next connection then runs interpreted until
 * the JIT has warmed up again: in bench/tcp, an epair round right after such a
 * collection ran at 216 MiB/s for its whole 64 MiB, against 586 with the objects
 * below kept (and 520-560 in steady state).  FreeBSD's UMA zones keep
 * freed items type-stable; here one object per type is kept (its constructor calls
 * typestable()), which keeps its map — and the code built on it — alive.  Nothing
 * reads the kept objects; each retains what one dead object of its type references
 * (a finished test's kernel stays reachable until the next kernel makes its own).
 */

/** The types kept: one slot each. */
export const TS_MBUF = 0;
export const TS_SOCKET = 1;
export const TS_INPCB = 2;
export const TS_TCPCB = 3;
export const TS_FILE = 4;
export const TS_PROC = 5;
export const TS_THREAD = 6;
export const TS_LIBC = 7;
export const TS_FILEDESC = 8;
export const TS_VMMAP = 9;
const TS_NTYPES = 10;

const kept: (object | null)[] = new Array<object | null>(TS_NTYPES).fill(null);

/** Keep o as the latest object of type slot t (a constructor's last statement). */
export function typestable(t: number, o: object): void {
  kept[t] = o;
}
