/*
 * bin/sh/parse.ts — the shell's lexer and parser: the subset of sh(1) syntax the
 * vimage console and scripts use.
 *
 * Grammar (POSIX shell command language, reduced):
 *
 *   list      := and_or ( (';' | '&' | NEWLINE) and_or )* [';' | '&']
 *   and_or    := pipeline ( ('&&' | '||') NEWLINE* pipeline )*
 *   pipeline  := ['!'] command ( '|' NEWLINE* command )*
 *   command   := ( ASSIGNMENT | WORD | redirection )+
 *   redirection := [N] ('<' | '>' | '>>' | '<&' | '>&') WORD
 *
 * Words keep their quoting so that expansion (sh.ts) knows what to expand and split:
 * a word is a list of parts — literal text (quoted or not) and parameter references
 * ($NAME, ${NAME}, $?, $$, $!, $#, $0..$9), each marked quoted when it appeared inside
 * double quotes.  Single quotes keep everything literal; a backslash outside quotes
 * escapes any character (and a backslash-newline joins lines); inside double quotes it
 * escapes $ ` " \ and newline only.  `#` at the start of a word starts a comment.
 *
 * Not supported (XXX): if/while/for/case, functions, subshells and braces, command
 * substitution, arithmetic, here-documents, globbing, tilde expansion.  Using them is
 * a syntax error rather than a wrong result where the lexer can tell.
 */

export type WordPart =
  | { readonly k: 'lit'; readonly s: string; readonly q: boolean }
  | { readonly k: 'var'; readonly name: string; readonly q: boolean };

export interface Word {
  readonly parts: readonly WordPart[];
}

export interface Redir {
  readonly fd: number;
  readonly op: '<' | '>' | '>>' | '<&' | '>&';
  readonly target: Word;
}

export interface SimpleCmd {
  readonly assigns: readonly { readonly name: string; readonly value: Word }[];
  readonly words: readonly Word[];
  readonly redirs: readonly Redir[];
}

export interface Pipeline {
  readonly bang: boolean;
  readonly cmds: readonly SimpleCmd[];
}

export interface AndOr {
  readonly first: Pipeline;
  readonly rest: readonly { readonly op: '&&' | '||'; readonly p: Pipeline }[];
}

export interface ListItem {
  readonly andor: AndOr;
  readonly bg: boolean;
  /** The source text of the item (for `jobs`). */
  readonly text: string;
}

export class SyntaxError extends Error {}

type Tok =
  | { t: 'word'; w: Word; raw: string; start: number; end: number; assign: boolean }
  | { t: 'op'; op: string; start: number; end: number; fd?: number };

const OPS = ['&&', '||', '>>', '<&', '>&', ';', '&', '|', '<', '>', '\n', '(', ')'];

function isNameStart(c: string): boolean {
  return /[A-Za-z_]/.test(c);
}

/** Tokenize the whole text. */
export function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      if (op === '(' || op === ')') throw new SyntaxError(`Syntax error: "${op}" unexpected`);
      toks.push({ t: 'op', op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    // A word.
    const start = i;
    const parts: WordPart[] = [];
    let lit = '';
    let litq = false;
    const flush = (): void => {
      if (lit !== '') parts.push({ k: 'lit', s: lit, q: litq });
      lit = '';
    };
    const addLit = (s: string, q: boolean): void => {
      if (q !== litq) flush();
      litq = q;
      lit += s;
    };
    const readVar = (q: boolean): void => {
      // at src[i] === '$'
      const d = src[i + 1];
      if (d === '{') {
        const close = src.indexOf('}', i + 2);
        if (close < 0) throw new SyntaxError("Syntax error: Missing '}'");
        const name = src.slice(i + 2, close);
        if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?$!#])$/.test(name))
          throw new SyntaxError(`\${${name}}: Bad substitution`);
        flush();
        parts.push({ k: 'var', name, q });
        i = close + 1;
        return;
      }
      if (d !== undefined && /[?$!#0-9]/.test(d)) {
        flush();
        parts.push({ k: 'var', name: d, q });
        i += 2;
        return;
      }
      if (d !== undefined && isNameStart(d)) {
        let j = i + 1;
        while (j < n && /[A-Za-z0-9_]/.test(src[j]!)) j++;
        flush();
        parts.push({ k: 'var', name: src.slice(i + 1, j), q });
        i = j;
        return;
      }
      if (d === '(') throw new SyntaxError('Syntax error: command substitution is not supported');
      addLit('$', q);
      i++;
    };
    while (i < n) {
      const ch = src[i]!;
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') break;
      if (OPS.some((o) => src.startsWith(o, i))) break;
      if (ch === '\\') {
        if (src[i + 1] === '\n') {
          i += 2;
          continue;
        }
        if (i + 1 < n) addLit(src[i + 1]!, true);
        i += 2;
        continue;
      }
      if (ch === "'") {
        const close = src.indexOf("'", i + 1);
        if (close < 0) throw new SyntaxError('Syntax error: Unterminated quoted string');
        addLit(src.slice(i + 1, close), true);
        if (close === i + 1) parts.push({ k: 'lit', s: '', q: true });
        i = close + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        let any = false;
        for (;;) {
          if (i >= n) throw new SyntaxError('Syntax error: Unterminated quoted string');
          const d = src[i]!;
          if (d === '"') {
            i++;
            break;
          }
          any = true;
          if (d === '\\' && i + 1 < n && '$`"\\\n'.includes(src[i + 1]!)) {
            if (src[i + 1] !== '\n') addLit(src[i + 1]!, true);
            i += 2;
            continue;
          }
          if (d === '$') {
            readVar(true);
            continue;
          }
          if (d === '`')
            throw new SyntaxError('Syntax error: command substitution is not supported');
          addLit(d, true);
          i++;
        }
        if (!any) {
          flush();
          parts.push({ k: 'lit', s: '', q: true });
        }
        continue;
      }
      if (ch === '$') {
        readVar(false);
        continue;
      }
      if (ch === '`') throw new SyntaxError('Syntax error: command substitution is not supported');
      addLit(ch, false);
      i++;
    }
    flush();
    const raw = src.slice(start, i);
    // N> / N< : an all-digit unquoted word right before a redirection operator.
    const nextOp = OPS.find((o) => src.startsWith(o, i));
    if (
      /^[0-9]+$/.test(raw) &&
      (nextOp === '>' || nextOp === '<' || nextOp === '>>' || nextOp === '<&' || nextOp === '>&')
    ) {
      toks.push({ t: 'op', op: nextOp, start, end: i + nextOp.length, fd: Number(raw) });
      i += nextOp.length;
      continue;
    }
    const first = parts[0];
    const assign =
      first !== undefined &&
      first.k === 'lit' &&
      !first.q &&
      /^[A-Za-z_][A-Za-z0-9_]*=/.test(first.s);
    toks.push({ t: 'word', w: { parts }, raw, start, end: i, assign });
  }
  return toks;
}

/** Parse a whole program into list items. */
export function parse(src: string): ListItem[] {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const isOp = (op: string): boolean => {
    const t = toks[p];
    return t !== undefined && t.t === 'op' && t.op === op;
  };
  const unexpected = (): never => {
    const t = toks[p];
    if (t === undefined) throw new SyntaxError('Syntax error: end of file unexpected');
    const s = t.t === 'op' ? (t.op === '\n' ? 'newline' : t.op) : t.raw;
    throw new SyntaxError(`Syntax error: "${s}" unexpected`);
  };
  const skipNl = (): void => {
    while (isOp('\n')) p++;
  };

  const command = (): SimpleCmd => {
    const assigns: { name: string; value: Word }[] = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    for (;;) {
      const t = peek();
      if (t === undefined) break;
      if (t.t === 'word') {
        p++;
        if (t.assign && words.length === 0) {
          const f = t.w.parts[0] as { k: 'lit'; s: string; q: boolean };
          const eq = f.s.indexOf('=');
          const rest: WordPart[] = [];
          if (eq + 1 < f.s.length) rest.push({ k: 'lit', s: f.s.slice(eq + 1), q: false });
          rest.push(...t.w.parts.slice(1));
          assigns.push({ name: f.s.slice(0, eq), value: { parts: rest } });
        } else words.push(t.w);
        continue;
      }
      if (['<', '>', '>>', '<&', '>&'].includes(t.op)) {
        p++;
        const target = peek();
        if (target === undefined || target.t !== 'word') unexpected();
        p++;
        const op = t.op as Redir['op'];
        const fd = t.fd ?? (op === '<' || op === '<&' ? 0 : 1);
        redirs.push({ fd, op, target: (target as { w: Word }).w });
        continue;
      }
      break;
    }
    if (assigns.length === 0 && words.length === 0 && redirs.length === 0) unexpected();
    return { assigns, words, redirs };
  };

  const pipeline = (): Pipeline => {
    let bang = false;
    const t = peek();
    if (t && t.t === 'word' && t.raw === '!') {
      bang = true;
      p++;
    }
    const cmds = [command()];
    while (isOp('|')) {
      p++;
      skipNl();
      cmds.push(command());
    }
    return { bang, cmds };
  };

  const andor = (): AndOr => {
    const first = pipeline();
    const rest: { op: '&&' | '||'; p: Pipeline }[] = [];
    while (isOp('&&') || isOp('||')) {
      const op = (toks[p] as { op: string }).op as '&&' | '||';
      p++;
      skipNl();
      rest.push({ op, p: pipeline() });
    }
    return { first, rest };
  };

  const items: ListItem[] = [];
  skipNl();
  while (p < toks.length) {
    if (isOp(';') || isOp('&')) unexpected();
    const start = toks[p]!.start;
    const ao = andor();
    const end = toks[p - 1]!.end;
    let bg = false;
    if (isOp('&')) {
      bg = true;
      p++;
    } else if (isOp(';')) p++;
    else if (p < toks.length && !isOp('\n')) unexpected();
    items.push({ andor: ao, bg, text: src.slice(start, end) });
    skipNl();
  }
  return items;
}
