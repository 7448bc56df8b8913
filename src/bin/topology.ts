/*
 * bin/topology.ts — `vimage up FILE.yml`: build a lab from a declarative file.
 *
 * The file has the shape containerlab users know:
 *
 *   name: lab1
 *   topology:
 *     nodes:
 *       router:
 *         sysctl: { net.inet.ip.forwarding: 1 }
 *         interfaces: { eth0: 192.0.2.254/24, eth1: 198.51.100.254/24 }
 *       h1:
 *         interfaces: { eth0: 192.0.2.1/24 }
 *         routes: { default: 192.0.2.254 }
 *         exec: [ "ifconfig -l" ]
 *     links:
 *       - endpoints: ["h1:eth0", "router:eth0"]
 *     bridges:
 *       br0: { node: sw, members: ["h2:eth0", "h3:eth0"] }
 *
 * Each node is a jail with its own vnet (`jail -c name=N vnet persist host.hostname=N`);
 * each link is an epair whose sides move into the two nodes and are renamed there; a
 * bridge member is an epair whose one side goes to the member node and whose other side
 * joins the bridge (created in `node`, or in the host).  Then addresses, routes,
 * sysctls and exec commands, node by node.  The lab is built by an ordinary shell script
 * (topology_script shows it; `vimage up -n FILE` prints it) run with `sh -e`, so it goes
 * through the same tools and system calls a user types.  A bad file gets a message
 * naming its line and field, and nothing is built.
 */

import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YNode } from 'yaml';

export interface TopoNode {
  readonly name: string;
  readonly interfaces: Map<string, string>;
  readonly routes: Map<string, string>;
  readonly sysctl: Map<string, string>;
  readonly exec: string[];
}

export interface TopoLink {
  readonly a: [string, string];
  readonly b: [string, string];
}

export interface TopoBridge {
  readonly name: string;
  readonly node: string | null;
  readonly members: [string, string][];
}

export interface Topology {
  readonly name: string;
  readonly nodes: Map<string, TopoNode>;
  readonly links: TopoLink[];
  readonly bridges: TopoBridge[];
}

export class TopologyError extends Error {}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/;
const IFNAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,14}$/;
const CIDR_RE = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;
const IP_RE = /^(\d{1,3}\.){3}\d{1,3}$/;

/** Parse and validate a topology file's text; throws TopologyError "file:line: field: msg". */
export function topology_parse(text: string, file = 'topology'): Topology {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (n: YNode | null | undefined): string => {
    const off = n && 'range' in n && n.range ? n.range[0] : 0;
    return `${file}:${lc.linePos(off).line}`;
  };
  const fail = (n: YNode | null | undefined, field: string, msg: string): never => {
    throw new TopologyError(`${at(n)}: ${field}: ${msg}`);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new TopologyError(`${file}:${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'file', 'the top level must be a mapping');
  const get = (m: YNode, key: string): YNode | null => {
    if (!isMap(m)) return null;
    for (const p of m.items)
      if (isScalar(p.key) && String(p.key.value) === key) return (p.value as YNode) ?? null;
    return null;
  };
  const str = (n: YNode | null, field: string): string => {
    if (!isScalar(n) || n.value === null || typeof n.value === 'object')
      return fail(n, field, 'must be a scalar');
    return String(n.value);
  };
  const mapOf = (n: YNode | null, field: string): Map<string, string> => {
    const out = new Map<string, string>();
    if (n === null) return out;
    if (!isMap(n)) return fail(n, field, 'must be a mapping');
    for (const p of n.items) {
      const k = str(p.key as YNode, field);
      out.set(k, str(p.value as YNode, `${field}.${k}`));
    }
    return out;
  };
  for (const p of root.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '?';
    if (!['name', 'topology', 'kernel'].includes(k)) fail(p.key as YNode, k, 'unknown field');
  }
  const nameN = get(root, 'name');
  const name = nameN === null ? 'lab' : str(nameN, 'name');
  const topo = get(root, 'topology');
  if (topo === null) return fail(root, 'topology', 'missing');
  if (!isMap(topo)) return fail(topo, 'topology', 'must be a mapping');
  for (const p of topo.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '?';
    if (!['nodes', 'links', 'bridges'].includes(k))
      fail(p.key as YNode, `topology.${k}`, 'unknown field');
  }
  const nodesN = get(topo, 'nodes');
  if (nodesN === null) return fail(topo, 'topology.nodes', 'missing');
  if (!isMap(nodesN)) return fail(nodesN, 'topology.nodes', 'must be a mapping');
  const nodes = new Map<string, TopoNode>();
  for (const p of nodesN.items) {
    const nn = str(p.key as YNode, 'topology.nodes');
    const f = `topology.nodes.${nn}`;
    if (!NAME_RE.test(nn))
      fail(p.key as YNode, f, 'a node name is a letter then letters, digits, - or _');
    if (nodes.has(nn)) fail(p.key as YNode, f, 'duplicate node');
    const v = (p.value as YNode | null) ?? null;
    if (v !== null && !isMap(v)) fail(v, f, 'must be a mapping');
    if (v !== null && isMap(v))
      for (const q of v.items) {
        const k = isScalar(q.key) ? String(q.key.value) : '?';
        if (!['interfaces', 'routes', 'sysctl', 'exec', 'kind'].includes(k))
          fail(q.key as YNode, `${f}.${k}`, 'unknown field');
      }
    const interfaces = mapOf(v && get(v, 'interfaces'), `${f}.interfaces`);
    for (const [ifn, addr] of interfaces) {
      if (!IFNAME_RE.test(ifn))
        fail(get(v!, 'interfaces'), `${f}.interfaces.${ifn}`, 'bad interface name');
      if (addr !== '' && !CIDR_RE.test(addr))
        fail(
          get(v!, 'interfaces'),
          `${f}.interfaces.${ifn}`,
          `"${addr}" is not an IPv4 address[/len]`,
        );
    }
    const routes = mapOf(v && get(v, 'routes'), `${f}.routes`);
    for (const [dst, gw] of routes) {
      if (dst !== 'default' && !CIDR_RE.test(dst))
        fail(get(v!, 'routes'), `${f}.routes.${dst}`, 'bad destination');
      if (!IP_RE.test(gw))
        fail(get(v!, 'routes'), `${f}.routes.${dst}`, `"${gw}" is not an IPv4 address`);
    }
    const sysctl = mapOf(v && get(v, 'sysctl'), `${f}.sysctl`);
    const exec: string[] = [];
    const ex = v && get(v, 'exec');
    if (ex) {
      if (!isSeq(ex)) fail(ex, `${f}.exec`, 'must be a list of commands');
      else for (const it of ex.items) exec.push(str(it as YNode, `${f}.exec`));
    }
    nodes.set(nn, { name: nn, interfaces, routes, sysctl, exec });
  }
  const endpoint = (n: YNode, field: string): [string, string] => {
    const s = str(n, field);
    const m = /^([^:]+):([^:]+)$/.exec(s);
    if (!m) return fail(n, field, `"${s}" is not node:interface`);
    if (!nodes.has(m[1]!)) return fail(n, field, `unknown node "${m[1]}"`);
    if (!IFNAME_RE.test(m[2]!)) return fail(n, field, `bad interface name "${m[2]}"`);
    return [m[1]!, m[2]!];
  };
  const used = new Set<string>();
  const use = (n: YNode, field: string, ep: [string, string]): void => {
    const key = ep.join(':');
    if (used.has(key)) fail(n, field, `${key} is used twice`);
    used.add(key);
  };
  const links: TopoLink[] = [];
  const linksN = get(topo, 'links');
  if (linksN !== null) {
    if (!isSeq(linksN)) fail(linksN, 'topology.links', 'must be a list');
    else
      linksN.items.forEach((it, i) => {
        const f = `topology.links[${i}].endpoints`;
        const eps = get(it as YNode, 'endpoints');
        if (!isSeq(eps) || eps.items.length !== 2)
          return fail((eps ?? it) as YNode, f, 'must list exactly two endpoints');
        const a = endpoint(eps.items[0] as YNode, f);
        const b = endpoint(eps.items[1] as YNode, f);
        use(eps.items[0] as YNode, f, a);
        use(eps.items[1] as YNode, f, b);
        links.push({ a, b });
      });
  }
  const bridges: TopoBridge[] = [];
  const brN = get(topo, 'bridges');
  if (brN !== null) {
    if (!isMap(brN)) fail(brN, 'topology.bridges', 'must be a mapping');
    else
      for (const p of brN.items) {
        const bn = str(p.key as YNode, 'topology.bridges');
        const f = `topology.bridges.${bn}`;
        const v = p.value as YNode;
        const nodeN = get(v, 'node');
        const node = nodeN === null ? null : str(nodeN, `${f}.node`);
        if (node !== null && !nodes.has(node)) fail(nodeN, `${f}.node`, `unknown node "${node}"`);
        const mem = get(v, 'members');
        if (!isSeq(mem)) return fail(mem ?? v, `${f}.members`, 'must be a list of node:interface');
        const members = mem.items.map((it) => {
          const ep = endpoint(it as YNode, `${f}.members`);
          use(it as YNode, `${f}.members`, ep);
          return ep;
        });
        bridges.push({ name: bn, node, members });
      }
  }
  // Every interface a node configures must be the end of a link or a bridge member.
  for (const p of nodesN.items) {
    const nn = String((p.key as { value: unknown }).value);
    for (const ifn of nodes.get(nn)!.interfaces.keys())
      if (!used.has(`${nn}:${ifn}`))
        fail(
          get(p.value as YNode, 'interfaces'),
          `topology.nodes.${nn}.interfaces.${ifn}`,
          'no link or bridge ends there',
        );
  }
  return { name, nodes, links, bridges };
}

/** The shell script that builds the lab on a fresh kernel. */
export function topology_script(t: Topology): string {
  const L: string[] = [`# lab ${t.name}`];
  let epair = 0;
  let bridge = 0;
  const inNode = (node: string | null, cmd: string): string =>
    node === null ? cmd : `jexec ${node} ${cmd}`;
  for (const n of t.nodes.values())
    L.push(`jail -c name=${n.name} vnet persist host.hostname=${n.name} >/dev/null`);
  /** Create an epair; side a goes to (node, ifname); returns the name of side b. */
  const pair = (node: string, ifname: string): string => {
    const u = epair++;
    L.push('ifconfig epair create >/dev/null');
    L.push(`ifconfig epair${u}a vnet ${node}`);
    L.push(`jexec ${node} ifconfig epair${u}a name ${ifname} >/dev/null`);
    return `epair${u}b`;
  };
  for (const l of t.links) {
    const b = pair(l.a[0], l.a[1]);
    L.push(`ifconfig ${b} vnet ${l.b[0]}`);
    L.push(`jexec ${l.b[0]} ifconfig ${b} name ${l.b[1]} >/dev/null`);
  }
  for (const br of t.bridges) {
    const bname = `bridge${bridge++}`;
    L.push(inNode(br.node, 'ifconfig bridge create >/dev/null'));
    for (const [node, ifname] of br.members) {
      const b = pair(node, ifname);
      if (br.node !== null) L.push(`ifconfig ${b} vnet ${br.node}`);
      L.push(inNode(br.node, `ifconfig ${bname} addm ${b}`));
      L.push(inNode(br.node, `ifconfig ${b} up`));
    }
    L.push(inNode(br.node, `ifconfig ${bname} up`));
  }
  for (const n of t.nodes.values()) {
    for (const [k, v] of n.sysctl) L.push(`jexec ${n.name} sysctl ${k}=${v} >/dev/null`);
    for (const [ifn, addr] of n.interfaces)
      L.push(
        addr === ''
          ? `jexec ${n.name} ifconfig ${ifn} up`
          : `jexec ${n.name} ifconfig ${ifn} inet ${addr} up`,
      );
    for (const [dst, gw] of n.routes)
      L.push(`jexec ${n.name} route -q add ${dst === 'default' ? 'default' : `-net ${dst}`} ${gw}`);
    for (const c of n.exec) L.push(`jexec ${n.name} ${c}`);
  }
  return L.join('\n') + '\n';
}
