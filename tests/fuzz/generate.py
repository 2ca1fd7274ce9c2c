"""Inputs for the fuzzers, each a function of a seed (so a finding is reproduced by its
seed alone):

- typed_program(seed): a well-typed DP program (functions of floats, ints, lists,
  tuples, structs and tensors; loops, branches, calls, closures; grad, jvp, vjp,
  value_and_grad, jacfwd, hessian and source), then, with the seed's say, mutated:
  a type annotation changed, a derivative call given other arguments or another
  transform, a literal swapped, a call given one argument too many;
- mutated_file(seed): an example or standard-library file with its bytes or tokens
  mutated (spans deleted, duplicated or swapped, tokens replaced, bytes that are not
  UTF-8, a BOM, control characters, deep nesting spliced in);
- grammar_walk(seed): a random derivation of grammar/dp.lark's rules (fast: what
  long campaigns use), and grammar_strategy(), hypothesis's from_lark on the same
  grammar (slow to draw from: test_fuzz.py and a small share of a campaign).
"""
from __future__ import annotations

import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus() -> list[tuple[str, bytes]]:
    out = []
    for d, where in (("examples", ("examples",)), ("stdlib", ("dp", "stdlib"))):
        for name in sorted(os.listdir(os.path.join(ROOT, *where))):
            if name.endswith(".dp"):
                with open(os.path.join(ROOT, *where, name), "rb") as f:
                    out.append((f"{d}/{name}", f.read()))
    return out


_CORPUS = None


def _corpus():
    global _CORPUS
    if _CORPUS is None:
        _CORPUS = corpus()
    return _CORPUS


# ---------------------------------------------------------------------- typed programs

SCALARS = ["float", "int", "bool"]


class _Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.fns: list[tuple[str, list[str], str]] = []     # (name, param types, result type)
        self.lines: list[str] = []
        self.n = 0

    def fresh(self, base="v"):
        self.n += 1
        return f"{base}{self.n}"

    # expressions of a type, over the variables in scope (name -> type)
    def expr(self, t: str, scope: dict, depth: int = 0) -> str:
        r = self.r
        names = [n for n, nt in scope.items() if nt == t and "#" not in n]
        if depth > 3 or r.random() < 0.25:
            if names and r.random() < 0.7:
                return r.choice(names)
            return self.literal(t)
        if t == "float":
            k = r.randrange(9)
            if k == 0:
                return f"({self.expr('float', scope, depth + 1)} {r.choice('+-*/')} {self.expr('float', scope, depth + 1)})"
            if k == 1:
                return f"{r.choice(['sin', 'cos', 'exp', 'tanh', 'sqrt', 'log', 'abs', 'sigmoid'])}({self.expr('float', scope, depth + 1)})"
            if k == 2:
                return f"float({self.expr('int', scope, depth + 1)})"
            if k == 3 and "list[float]" in scope.values():
                xs = r.choice([n for n, nt in scope.items() if nt == "list[float]" and "#" not in n])
                return f"{xs}[{self.expr('int', scope, depth + 1)} % max(len({xs}), 1)]" if r.random() < 0.5 else f"{xs}[0]"
            if k == 4 and "P" in scope.values():
                return f"{r.choice([n for n, nt in scope.items() if nt == 'P' and '#' not in n])}.{r.choice(['x', 'v'])}"
            if k == 5:
                f = self.fn_of("float", ["float"])
                if f:
                    return f"{f}({self.expr('float', scope, depth + 1)})"
            if k == 6:
                f = self.fn_of("float", ["float"])
                if f:
                    return f"grad({f})({self.expr('float', scope, depth + 1)})"
            if k == 7 and "tensor" in scope.values():
                t_ = r.choice([n for n, nt in scope.items() if nt == "tensor" and "#" not in n])
                return f"sum({t_} * {self.expr('float', scope, depth + 1)})"
            if k == 8:
                return f"({self.expr('float', scope, depth + 1)} ** {r.choice(['2', '0.5', '3.0', '-1.0'])})"
            return self.literal("float")
        if t == "int":
            k = r.randrange(5)
            if k == 0:
                return f"({self.expr('int', scope, depth + 1)} {r.choice(['+', '-', '*', '/', '%'])} {self.expr('int', scope, depth + 1)})"
            if k == 1 and "list[float]" in scope.values():
                return f"len({r.choice([n for n, nt in scope.items() if nt == 'list[float]' and '#' not in n])})"
            if k == 2:
                return f"int({self.expr('float', scope, depth + 1)})"
            if k == 3:
                return f"({self.expr('int', scope, depth + 1)} ** {r.randrange(0, 5)})"
            return self.literal("int")
        if t == "bool":
            k = r.randrange(3)
            if k == 0:
                return f"({self.expr('float', scope, depth + 1)} {r.choice(['<', '<=', '>', '==', '!='])} {self.expr('float', scope, depth + 1)})"
            if k == 1:
                return f"({self.expr('bool', scope, depth + 1)} {r.choice(['&&', '||'])} {self.expr('bool', scope, depth + 1)})"
            return f"!{self.expr('bool', scope, depth + 1)}"
        if t == "list[float]":
            k = r.randrange(3)
            if k == 0:
                return "[" + ", ".join(self.expr("float", scope, depth + 1) for _ in range(r.randrange(1, 4))) + "]" \
                    if r.random() < 0.8 else "[1.0]"
            if k == 1:
                return f"({self.expr('list[float]', scope, depth + 1)} + {self.expr('list[float]', scope, depth + 1)})"
            return f"sublist({self.expr('list[float]', scope, depth + 1)}, 0, 0)"
        if t == "P":
            return f"P {{ x: {self.expr('float', scope, depth + 1)}, v: {self.expr('float', scope, depth + 1)} }}"
        if t == "tensor":
            k = r.randrange(4)
            if k == 0:
                return f"({self.expr('tensor', scope, depth + 1)} {r.choice('+-*')} {self.expr('tensor', scope, depth + 1)})"
            if k == 1:
                return f"({self.expr('tensor', scope, depth + 1)} * {self.expr('float', scope, depth + 1)})"
            if k == 2:
                return f"{r.choice(['sin', 'exp', 'tanh'])}({self.expr('tensor', scope, depth + 1)})"
            return f"ones([{r.randrange(1, 4)}])"
        if t == "(float, int)":
            return f"({self.expr('float', scope, depth + 1)}, {self.expr('int', scope, depth + 1)})"
        return self.literal(t)

    def literal(self, t: str) -> str:
        r = self.r
        if t == "float":
            return r.choice(["0.0", "1.0", "2.5", "-0.5", "1e-3", "3.0", "0.1", "inf", "nan", "1e308"])
        if t == "int":
            return r.choice(["0", "1", "2", "3", "7", "-1", "10", "100"])
        if t == "bool":
            return r.choice(["true", "false"])
        if t == "list[float]":
            return r.choice(["[1.0, 2.0]", "[0.5]", "[3.0, -1.0, 2.0]"])
        if t == "P":
            return "P { x: 1.0, v: 0.5 }"
        if t == "tensor":
            return r.choice(["ones([3])", "tensor([1.0, 2.0, 3.0])", "zeros([3])", "linspace(0.0, 1.0, 3)"])
        if t == "(float, int)":
            return "(1.0, 2)"
        return "0"

    def fn_of(self, ret: str, params: list[str]):
        cands = [n for n, ps, rt in self.fns if rt == ret and ps == params]
        return self.r.choice(cands) if cands else None

    def stmts(self, scope: dict, ret: str, depth: int, indent: str) -> list[str]:
        r = self.r
        out = []
        for _ in range(r.randrange(1, 5)):
            k = r.randrange(8)
            if k <= 1:
                t = r.choice(SCALARS + ["list[float]", "P", "tensor"])
                v = self.fresh()
                kw = r.choice(["let", "var"])
                out.append(f"{indent}{kw} {v}: {t} = {self.expr(t, scope)}")
                scope[v] = t
                if kw == "var":
                    scope[v + "#var"] = t
            elif k == 2 and depth < 2:
                out.append(f"{indent}if {self.expr('bool', scope)} {{")
                out += self.stmts(dict(scope), ret, depth + 1, indent + "    ")
                out.append(f"{indent}}} else {{")
                out += self.stmts(dict(scope), ret, depth + 1, indent + "    ")
                out.append(f"{indent}}}")
            elif k == 3 and depth < 2:
                i = self.fresh("i")
                out.append(f"{indent}for {i} in 0..{r.choice(['3', '10', str(r.randrange(0, 30))])} {{")
                inner = dict(scope)
                inner[i] = "int"
                out += self.stmts(inner, ret, depth + 1, indent + "    ")
                if r.random() < 0.3:
                    out.append(f"{indent}    if {self.expr('bool', inner)} {{ break }}")
                out.append(f"{indent}}}")
            elif k == 4 and depth < 2:
                c = self.fresh("c")
                out.append(f"{indent}var {c} = 0")
                out.append(f"{indent}while {c} < {r.randrange(0, 20)} {{")
                out.append(f"{indent}    {c} += 1")
                out += self.stmts(dict(scope, **{c: "int"}), ret, depth + 1, indent + "    ")
                out.append(f"{indent}}}")
            elif k == 5:
                vars_ = [n[:-4] for n in scope if n.endswith("#var")]
                if vars_:
                    v = r.choice(vars_)
                    t = scope[v]
                    if t in ("float", "int"):
                        out.append(f"{indent}{v} {r.choice(['=', '+=', '-=', '*='])} {self.expr(t, scope)}")
                    elif t == "list[float]":
                        out.append(f"{indent}{v}.append({self.expr('float', scope)})")
                    elif t == "P":
                        out.append(f"{indent}{v}.x = {self.expr('float', scope)}")
                    else:
                        out.append(f"{indent}{v} = {self.expr(t, scope)}")
            elif k == 6:
                out.append(f"{indent}print({self.expr(r.choice(SCALARS + ['list[float]', 'P']), scope)})")
            else:
                lam = self.fresh("lam")
                x = self.fresh("x")
                body = self.expr("float", dict(scope, **{x: "float"}))
                out.append(f"{indent}let {lam} = fn({x}: float) -> float {{ return {body} }}")
                scope[lam] = "fn(float) -> float"
                if r.random() < 0.5:
                    out.append(f"{indent}print({lam}({self.expr('float', scope)}), grad({lam})({self.expr('float', scope)}))")
        return out

    def function(self) -> list[str]:
        r = self.r
        name = self.fresh("f")
        ret = r.choice(["float", "float", "float", "int", "list[float]", "P", "tensor"])
        nparams = r.randrange(1, 4)
        ptypes = [r.choice(["float", "float", "int", "list[float]", "P", "tensor"]) for _ in range(nparams)]
        if r.random() < 0.5:
            ptypes, ret = ["float"], "float"
        params = [(self.fresh("p"), t) for t in ptypes]
        scope = {p: t for p, t in params}
        lines = [f"fn {name}({', '.join(f'{p}: {t}' for p, t in params)}) -> {ret} {{"]
        lines += self.stmts(scope, ret, 0, "    ")
        lines.append(f"    return {self.expr(ret, scope)}")
        lines.append("}")
        self.fns.append((name, ptypes, ret))
        return lines

    def program(self) -> str:
        r = self.r
        lines = ["struct P { x: float, v: float }"]
        for _ in range(r.randrange(1, 4)):
            lines += self.function()
        scope: dict = {}
        lines += self.stmts(scope, "float", 0, "")
        for name, ps, ret in self.fns:
            args = ", ".join(self.expr(t, scope) for t in ps)
            lines.append(f"print({name}({args}))")
            if ret == "float" and r.random() < 0.8:
                tr = r.choice(["grad", "value_and_grad", "jacfwd", "jacrev", "hessian", "jvp", "vjp", "source"])
                if tr in ("grad", "value_and_grad", "jacfwd", "jacrev", "hessian") and ps == ["float"]:
                    lines.append(f"print({tr}({name})({args}))")
                elif tr == "grad":
                    wrt = r.randrange(len(ps))
                    lines.append(f"print(grad({name}, {wrt})({args}))")
                elif tr == "jvp" and ps == ["float"]:
                    lines.append(f"print(jvp({name}, {args}, 1.0))")
                elif tr == "vjp" and ps == ["float"]:
                    lines.append(f"print(vjp({name}, {args}).1(1.0))")
                elif tr == "source":
                    lines.append(f"print(len(source(grad({name}, 0))) > 0)")
        return "\n".join(lines) + "\n"


_TYPES = ["float", "int", "bool", "string", "list[float]", "tensor", "P", "(float, int)", "dict[string, float]",
          "fn(float) -> float", "list[P]", "tensor[3]", "()"]
_TRANSFORMS = ["grad", "jvp", "vjp", "value_and_grad", "jacfwd", "jacrev", "hessian", "source", "stop_gradient"]


def mutate_program(text: str, r: random.Random) -> str:
    """A type changed, a derivative call changed, a literal swapped, an argument added."""
    for _ in range(r.randrange(1, 4)):
        k = r.randrange(6)
        if k == 0:                                      # a type annotation
            spots = [m for m in re.finditer(r"(?<=: )(float|int|bool|list\[float\]|tensor|P)\b", text)]
            if spots:
                m = r.choice(spots)
                text = text[:m.start()] + r.choice(_TYPES) + text[m.end():]
        elif k == 1:                                    # a transform for another
            spots = [m for m in re.finditer(r"\b(grad|jvp|vjp|value_and_grad|jacfwd|jacrev|hessian)\(", text)]
            if spots:
                m = r.choice(spots)
                text = text[:m.start()] + r.choice(_TRANSFORMS) + "(" + text[m.end():]
        elif k == 2:                                    # a derivative call's arguments
            spots = [m for m in re.finditer(r"\b(grad|jvp|vjp|value_and_grad)\(([a-z0-9_]+)", text)]
            if spots:
                m = r.choice(spots)
                extra = r.choice([", 1", ", 5", ", -1", ", (0, 1)", ", (0, 0)", ", ()", ", 1.0", ", grad"])
                text = text[:m.end()] + extra + text[m.end():]
        elif k == 3:                                    # a literal
            spots = list(re.finditer(r"\b\d+(\.\d+)?\b", text))
            if spots:
                m = r.choice(spots)
                text = text[:m.start()] + r.choice(["0", "-1", "1e308", "10 ** 100", "2 ** 64", "1000000", "0.0",
                                                    "nan", "\"s\"", "true", "[]"]) + text[m.end():]
        elif k == 4:                                    # one argument too many
            spots = list(re.finditer(r"\b(f\d+)\(", text))
            if spots:
                m = r.choice(spots)
                text = text[:m.end()] + "1.0, " + text[m.end():]
        else:                                           # a derivative of a derivative
            spots = list(re.finditer(r"\bgrad\((f\d+|lam\d+)\)", text))
            if spots:
                m = r.choice(spots)
                text = text[:m.start()] + f"grad(grad({m.group(1)}))" + text[m.end():]
    return text


def typed_program(seed: int) -> str:
    g = _Gen(seed)
    text = g.program()
    # names of their own, mostly: programs run one after another in one session (as
    # REPL inputs are), and a few of them redefine what an earlier one defined
    text = re.sub(r"\bf(\d+)\b", lambda m: f"f{seed % 97}_{m.group(1)}", text)
    text = re.sub(r"\bP\b", f"P{seed % 5}", text)
    if g.r.random() < 0.5:
        text = mutate_program(text, g.r)
    return text


# ---------------------------------------------------------------------- mutated files

_TOKEN = re.compile(rb'"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\*\*|->|=>|\.\.|[-+*/%=<>!&|]=?|&&|\|\||\S')
_INSERTS = [b"\xff", b"\xef\xbb\xbf", b"\x00", b"\r", b"\t", b"\\", b"\\x4", b'"\\q"', b'"', b"#", b"{", b"}", b"(",
            b")", b"[", b"]", b",", b";", b".", b"..", b"->", b"=>", b"\n", b"fn", b"let", b"var", b"grad(", b"jvp(",
            b"struct", b"enum", b"match", b"import math\n", b"import nosuch\n", b"10 ** 10 ** 10", b"range(100000000)",
            b"zeros([100000, 100000])", b"while true {}", b"\xc3", b"\xe2\x82", b"1e999", b"-", b"!", b"__class__",
            b"rt", b"inf", b"nan", b"a.b.P { x: 1 }"]


def mutated_file(seed: int) -> tuple[str, bytes]:
    r = random.Random(seed)
    name, data = r.choice(_corpus())
    for _ in range(r.randrange(1, 6)):
        data = _mutate_bytes(data, r)
    return name, data


def _mutate_bytes(data: bytes, r: random.Random) -> bytes:
    n = len(data)
    if n == 0:
        return r.choice(_INSERTS)
    k = r.randrange(10)
    i = r.randrange(n)
    j = min(n, i + r.choice([1, 2, 5, 20, 200]))
    if k == 0:                                          # delete a span
        return data[:i] + data[j:]
    if k == 1:                                          # duplicate a span
        return data[:j] + data[i:j] + data[j:]
    if k == 2:                                          # insert something
        return data[:i] + r.choice(_INSERTS) + data[i:]
    if k == 3:                                          # a random byte
        return data[:i] + bytes([r.randrange(256)]) + data[i + 1:]
    if k == 4 or k == 5:                                # a token for another
        toks = list(_TOKEN.finditer(data))
        if not toks:
            return data
        a, b = r.choice(toks), r.choice(toks)
        return data[:a.start()] + data[b.start():b.end()] + data[a.end():]
    if k == 6:                                          # swap two lines
        lines = data.split(b"\n")
        x, y = r.randrange(len(lines)), r.randrange(len(lines))
        lines[x], lines[y] = lines[y], lines[x]
        return b"\n".join(lines)
    if k == 7:                                          # deep nesting spliced in
        depth = r.choice([50, 300, 3000])
        what = r.choice([(b"-" * depth + b"1.0"), (b"(" * depth + b"1" + b")" * depth),
                         (b"[" * depth + b"1" + b"]" * depth), b" + ".join([b"1"] * depth)])
        return data[:i] + b"\nprint(" + what + b")\n" + data[i:]
    if k == 8:                                          # a line from another file
        _, other = r.choice(_corpus())
        lines = other.split(b"\n")
        return data[:i] + b"\n" + r.choice(lines) + b"\n" + data[i:]
    return data[:i]                                     # truncated


# ---------------------------------------------------------------------- the grammar

def grammar_strategy():
    """hypothesis's from_lark on DP's grammar: keywords and names spaced, a few
    strings and names, so that what it makes often lexes as it was meant to."""
    import lark
    from hypothesis import strategies as st
    from hypothesis.extra.lark import from_lark

    from dp.grammar import grammar_text
    g = lark.Lark(grammar_text(), parser="lalr", lexer="basic")
    explicit = {
        "STRUCT_LBRACE": st.just(" {"),
        "_NL": st.sampled_from(["\n", "\n    ", "\n\n"]),
        "NAME": st.sampled_from([" x ", " y ", " f ", " g ", " P ", " n ", " xs ", " float ", " int ", " tensor ",
                                 " list ", " grad ", " sin ", " print ", " len ", " zeros ", " optim ", " math ",
                                 " string ", " bool ", " dict ", " jvp ", " source "]),
        "STRING": st.sampled_from(['"a"', '"\\n"', '"\\q"', '""', '"\\x4"', '"\\x41"']),
        "INT": st.sampled_from(["0", "1", "2", "10", "99999999999999999999"]),
        "FLOAT": st.sampled_from(["1.0", "0.5", "1e308", "2.5e-3"]),
    }
    for t in g.terminals:
        if t.name not in explicit and t.pattern.type == "str" and t.pattern.value.isalpha():
            explicit[t.name] = st.just(f" {t.pattern.value} ")
    return from_lark(g, start="start", explicit=explicit)


# ---------------------------------------------------------------------- a walk of the grammar

_GRAMMAR = None
_TERMINAL_TEXT = {
    "NAME": ["x", "y", "f", "g", "P", "n", "xs", "float", "int", "tensor", "list", "grad", "sin", "print", "len",
             "zeros", "optim", "math", "string", "bool", "dict", "jvp", "source", "range", "Color", "Red", "_"],
    "STRING": ['"a"', '"\\n"', '"\\q"', '""', '"\\x4"', '"\\x41"', '"é"'],
    "INT": ["0", "1", "2", "3", "10", "99999999999999999999"],
    "FLOAT": ["1.0", "0.5", "1e308", "2.5e-3", "0.1"],
    "_NL": ["\n", "\n    "], "STRUCT_LBRACE": ["{"], "COMMENT": ["# c"],
}


def _grammar():
    global _GRAMMAR
    if _GRAMMAR is None:
        import lark

        from dp.grammar import grammar_text
        g = lark.Lark(grammar_text(), parser="lalr", lexer="basic")
        rules: dict = {}
        for r in g.rules:
            rules.setdefault(r.origin.name, []).append([(sym.name, sym.is_term) for sym in r.expansion])
        text = {}
        for t in g.terminals:
            if t.name in _TERMINAL_TEXT:
                text[t.name] = _TERMINAL_TEXT[t.name]
            elif t.pattern.type == "str":
                text[t.name] = [t.pattern.value]
            else:                                   # a pattern: one example of it
                text[t.name] = [{"AUG_OP": "+=", "CMP_OP": "<"}.get(t.name, " ")]
        _GRAMMAR = rules, text
    return _GRAMMAR


def grammar_walk(seed: int) -> str:
    """A random derivation from `start`, deeper alternatives less likely as it goes,
    tokens spaced (so that keywords and names stay apart)."""
    rules, text = _grammar()
    r = random.Random(seed)
    out: list[str] = []
    budget = [r.choice([30, 80, 200, 600])]

    def expand(sym: str, depth: int):
        alts = rules[sym]
        if budget[0] <= 0 or depth > 40:            # as short as it can be: the alternative with fewest rules
            alt = min(alts, key=lambda a: sum(1 for _, t in a if not t))
        else:
            alt = r.choice(alts)
        budget[0] -= 1
        for name, is_term in alt:
            if is_term:
                out.append(r.choice(text.get(name, [" "])))
            else:
                expand(name, depth + 1)
    expand("start", 0)
    return " ".join(out) + "\n"
