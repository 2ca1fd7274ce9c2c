"""Random well-typed DP programs for the derivative fuzzer (tests/fuzz_derivatives.py).

A program is a small syntax tree of our own (not DP's): it prints as DP source, and
the shrinker (tests/fuzz_shrink.py) cuts it — drops statements, functions and
branches, replaces an expression by a subexpression or a constant of its type.
Every node carries the feature tag of the construct it exercises, so the features a
program uses are read off its tree, after shrinking too.

The generator keeps programs well typed and mostly runnable: it tracks the type of
every variable (and a tensor's shape, a list's least length, a dict's certain keys),
guards domains (`log(e * e + 1.0)`, `sqrt(e * e + 0.5)`, `a / (b * b + 1.0)`), bounds
loops, and makes non-smooth constructs only when the `nonsmooth` feature is on.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# ---------------------------------------------------------------------- features

FEATURES = {
    "elem": "elementary functions: sin cos exp log sqrt tanh sigmoid atan2 ...",
    "pow": "`**` with float and int exponents, pow(x, p), p differentiable",
    "nonsmooth": "abs, max, min, relu, clip, where, raw atan2: kinks the oracle must skip",
    "branch": "if/else on float comparisons",
    "while": "while loops with data-dependent trip counts (bounded)",
    "for": "for i in a..b",
    "foreach": "for x in xs, for k in d",
    "breakcont": "break and continue",
    "earlyret": "early return",
    "recursion": "recursion bounded by an int argument",
    "call": "calls to helper functions, declared before or after their caller",
    "list": "list[float] values, element reads and writes, xs + ys",
    "append": "append and pop",
    "dict": "dict[string, float] values, reads and writes",
    "get": "d.get(k, default)",
    "struct": "structs of floats and tensors, field writes",
    "tensor": "tensors: elementwise, @, reductions, slicing, where, outer, concat, reshape",
    "twrite": "tensor element and slice writes",
    "enum": "enums with payloads and match",
    "tuple": "tuples and tuple destructuring",
    "closure": "lambdas capturing floats, called, made inside loops",
    "retclosure": "closures returned by functions",
    "hof": "higher-order functions given lambdas, named functions, builtins",
    "floatconv": "float(x) of a float, float(i) of an int",
    "stopgrad": "stop_gradient",
    "nestedgrad": "grad (and jvp) inside the differentiated function",
    "print": "print inside the function and its callees (effects must happen once)",
    "rule": "a user `derivative` rule for a helper (a correct one)",
    "linspace": "linspace(a, b, n) with a differentiable start",
    "capmut": "a variable a lambda captured is changed after the lambda is made (capture by value)",
    # the everyday language (docs/language.md)
    "ifexpr": "if expressions: if c { a } else { b } as a value",
    "listfns": "sum, max, min, sort, map, filter of lists of floats",
    "slices": "list slices xs[lo:hi], xs[i:], xs[:n], negative bounds",
    "destructure": "for (i, x) in enumerate(xs), for (a, b) in zip(xs, ys), for (k, v) in d.items()",
    # found by hand after the campaigns (2026-12-01, F1-F2): a pop read as an int, an index, a condition
    "popexpr": "xs.pop() inside an expression: int(xs.pop()), ys[… xs.pop() …], if xs.pop() > 0.0 { … }",
    "ifblock": "statements in if-expression branches: if c { let t = …; v = …; t * v } else { …; e }",
    "slicewrite": "slice assignment xs[lo:hi] = ys (lists of floats, tensors, structs; bounds literal, negative, "
                  "missing, from ints and pops; values of other lengths, the list itself) and tensor slice writes",
}
ALL_FEATURES = frozenset(FEATURES)
# Features added after campaigns had run: decided by a random stream of their own, and
# drawn on only when on, so every seed's program without them is what it always was
LATER_FEATURES = frozenset({"ifexpr", "listfns", "slices", "destructure", "popexpr", "slicewrite"})
# and later still, each decided by a stream of its own: (feature, how often)
NEWEST_FEATURES = (("ifblock", 0.3),)
# how often a program uses a feature (when it is enabled); the rest 0.45
FEATURE_PROB = {"nonsmooth": 0.25, "stopgrad": 0.3, "print": 0.3, "rule": 0.3, "linspace": 0.2}

# ---------------------------------------------------------------------- types


@dataclass(frozen=True)
class Prim:
    name: str

    def dp(self) -> str:
        return self.name


FLOAT, INT, BOOL, STRING = Prim("float"), Prim("int"), Prim("bool"), Prim("string")


@dataclass(frozen=True)
class TensorT:
    shape: tuple

    def dp(self) -> str:
        return "tensor"


@dataclass(frozen=True)
class ListT:
    def dp(self) -> str:
        return "list[float]"


LIST = ListT()


@dataclass(frozen=True)
class DictT:
    def dp(self) -> str:
        return "dict[string, float]"


DICT = DictT()


@dataclass(frozen=True)
class TupleT:
    items: tuple

    def dp(self) -> str:
        return "(" + ", ".join(t.dp() for t in self.items) + ")"


@dataclass(frozen=True)
class StructT:
    name: str
    fields: tuple          # ((name, type), ...)

    def dp(self) -> str:
        return self.name

    def decl(self) -> str:
        return f"struct {self.name} {{ " + ", ".join(f"{n}: {t.dp()}" for n, t in self.fields) + " }"


@dataclass(frozen=True)
class EnumT:
    name: str
    variants: tuple        # ((name, (types...)), ...)

    def dp(self) -> str:
        return self.name

    def decl(self) -> str:
        vs = []
        for n, ts in self.variants:
            vs.append(n + ("(" + ", ".join(t.dp() for t in ts) + ")" if ts else ""))
        return f"enum {self.name} {{ " + ", ".join(vs) + " }"


@dataclass(frozen=True)
class FnT:
    params: tuple
    ret: object

    def dp(self) -> str:
        return "fn(" + ", ".join(t.dp() for t in self.params) + ") -> " + self.ret.dp()


F2F = FnT((FLOAT,), FLOAT)


def is_diff(t) -> bool:
    """Whether values of t carry derivatives (the parameter types the oracle perturbs)."""
    if t == FLOAT or isinstance(t, (TensorT, ListT, DictT)):
        return True
    if isinstance(t, TupleT):
        return all(is_diff(i) for i in t.items)
    if isinstance(t, StructT):
        return all(is_diff(ft) for _, ft in t.fields)
    return False


def fmt_float(v: float) -> str:
    s = repr(float(v))
    return s if ("." in s or "e" in s or "inf" in s or "nan" in s) else s + ".0"


def shape_dp(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def const_text(t) -> str | None:
    """A constant of type t as DP text, for the shrinker; None if there is none handy."""
    if t == FLOAT:
        return "0.5"
    if t == INT:
        return "1"
    if t == BOOL:
        return "true"
    if isinstance(t, TensorT):
        return f"full({shape_dp(t.shape)}, 0.5)"
    return None

# ---------------------------------------------------------------------- syntax


@dataclass
class Expr:
    """An expression: `fmt` is a str.format template over the rendered `args`
    (braces of DP itself are doubled). `tag` is the feature it exercises."""
    ty: object
    fmt: str
    args: list = field(default_factory=list)
    tag: str = ""

    def render(self) -> str:
        fmt = self.fmt
        if _FD_RENDERING and fmt.startswith("stop_gradient("):
            fmt = ("sg_float(" if self.ty == FLOAT else "sg_tensor(") + fmt[len("stop_gradient("):]
        return fill(fmt, [a.render() for a in self.args])

    def children(self):
        return self.args


@dataclass
class IfBlock(Expr):
    """`if c { stmts; a } else { stmts; b }` as a value: args are [c, a, b]; each
    branch's statements, rendered on one line, come before its value."""
    then: list = field(default_factory=list)
    els: list = field(default_factory=list)

    def render(self) -> str:
        c, a, b = (x.render() for x in self.args)

        def branch(stmts, value):
            return "{ " + "; ".join(([inline(stmts)] if stmts else []) + [value]) + " }"
        return f"if {c} {branch(self.then, a)} else {branch(self.els, b)}"

    def blocks(self):
        return [self.then, self.els]


@dataclass
class Lambda:
    """fn(params) -> ret { body } as an expression; rendered on one line."""
    ty: FnT
    params: list          # [(name, type)]
    body: list            # statements
    tag: str = "closure"

    def render(self) -> str:
        ps = ", ".join(f"{n}: {t.dp()}" for n, t in self.params)
        return f"fn({ps}) -> {self.ty.ret.dp()} {{ " + inline(self.body) + " }"

    def children(self):
        return []


_FD_RENDERING = False


def render_for_differences(prog: "Program") -> str:
    """prog's text with each stop_gradient(e) as sg_float(e) / sg_tensor(e): host
    functions the oracle defines to hold e at the value it had at the base point, so
    finite differences see what stop_gradient means."""
    global _FD_RENDERING
    _FD_RENDERING = True
    try:
        return prog.render()
    finally:
        _FD_RENDERING = False


def atomic(text: str) -> bool:
    """Whether text needs no parentheses anywhere: nothing outside brackets but a
    name, a literal, a call, an index or a field."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and (ch in " +*/%<>=!&|@" or (ch == "-" and i > 0)):
            return False
        elif depth == 0 and ch == "-" and i == 0:
            return False
    return True


def fill(fmt: str, parts: list[str]) -> str:
    """fmt with {n} replaced by parts[n] (parenthesised unless it is atomic or sits
    alone between brackets or commas); {{ and }} are braces."""
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if fmt.startswith("{{", i) or fmt.startswith("}}", i):
            out.append(ch)
            i += 2
            continue
        if ch == "{":
            j = fmt.index("}", i)
            p = parts[int(fmt[i + 1:j])]
            before = "".join(out)[-2:]
            after = fmt[j + 1:j + 2]
            safe_before = before.endswith(("(", "[")) or before in (", ", ": ") or (i == 0 and j + 1 == len(fmt))
            safe_after = after in (")", ",", "]") or (i == 0 and j + 1 == len(fmt))
            out.append(p if atomic(p) or (safe_before and safe_after) else "(" + p + ")")
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def V(ty, name) -> Expr:
    return Expr(ty, name)


def lit(v: float) -> Expr:
    return Expr(FLOAT, fmt_float(v))


# statements: each has render(ind) (lines) and inline() (one line), a tag, and blocks()


@dataclass
class Stmt:
    tag: str = ""
    essential: bool = False        # the shrinker never drops it (loop counters)

    def blocks(self) -> list:
        return []

    def exprs(self) -> list:
        return []


@dataclass
class Decl(Stmt):
    name: str = ""
    expr: object = None
    mutable: bool = False
    annot: str | None = None

    def line(self) -> str:
        kw = "var" if self.mutable else "let"
        a = f": {self.annot}" if self.annot else ""
        return f"{kw} {self.name}{a} = {self.expr.render()}"

    def exprs(self):
        return [("expr", self.expr)]


@dataclass
class DeclTuple(Stmt):
    names: list = field(default_factory=list)
    expr: object = None

    def line(self) -> str:
        return f"let ({', '.join(self.names)}) = {self.expr.render()}"

    def exprs(self):
        return [("expr", self.expr)]


@dataclass
class Assign(Stmt):
    place: str = ""
    op: str = "="
    expr: object = None

    def line(self) -> str:
        return f"{self.place} {self.op} {self.expr.render()}"

    def exprs(self):
        return [("expr", self.expr)]


@dataclass
class ExprS(Stmt):
    expr: object = None

    def line(self) -> str:
        return self.expr.render()

    def exprs(self):
        return [("expr", self.expr)]


@dataclass
class Raw(Stmt):
    text: str = ""

    def line(self) -> str:
        return self.text


@dataclass
class Return(Stmt):
    expr: object = None

    def line(self) -> str:
        return "return" + ("" if self.expr is None else " " + self.expr.render())

    def exprs(self):
        return [] if self.expr is None else [("expr", self.expr)]


@dataclass
class If(Stmt):
    cond: object = None
    then: list = field(default_factory=list)
    els: list | None = None

    def blocks(self):
        return [self.then] + ([self.els] if self.els is not None else [])

    def exprs(self):
        return [("cond", self.cond)]


@dataclass
class While(Stmt):
    cond: str = ""                 # text: the bounded condition
    body: list = field(default_factory=list)

    def blocks(self):
        return [self.body]


@dataclass
class For(Stmt):
    var: str = ""
    head: str = ""                 # text after `in`: `0..3`, `xs`
    body: list = field(default_factory=list)

    def blocks(self):
        return [self.body]


@dataclass
class Match(Stmt):
    scrut: str = ""
    arms: list = field(default_factory=list)     # [(pattern, body)]

    def blocks(self):
        return [b for _, b in self.arms]


def render_block(stmts: list, ind: int) -> list[str]:
    out = []
    pad = "    " * ind
    for s in stmts:
        if isinstance(s, If):
            out.append(f"{pad}if {s.cond.render()} {{")
            out += render_block(s.then, ind + 1)
            if s.els is not None:
                out.append(f"{pad}}} else {{")
                out += render_block(s.els, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(s, While):
            out.append(f"{pad}while {s.cond} {{")
            out += render_block(s.body, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(s, For):
            out.append(f"{pad}for {s.var} in {s.head} {{")
            out += render_block(s.body, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(s, Match):
            out.append(f"{pad}match {s.scrut} {{")
            for pat, body in s.arms:
                out.append(f"{pad}    {pat} => {{")
                out += render_block(body, ind + 2)
                out.append(f"{pad}    }}")
            out.append(f"{pad}}}")
        else:
            out.append(pad + s.line())
    return out


def inline(stmts: list) -> str:
    parts = []
    for s in stmts:
        if isinstance(s, If):
            t = f"if {s.cond.render()} {{ {inline(s.then)} }}"
            if s.els is not None:
                t += f" else {{ {inline(s.els)} }}"
            parts.append(t)
        elif isinstance(s, While):
            parts.append(f"while {s.cond} {{ {inline(s.body)} }}")
        elif isinstance(s, For):
            parts.append(f"for {s.var} in {s.head} {{ {inline(s.body)} }}")
        elif isinstance(s, Match):
            arms = " ".join(f"{p} => {{ {inline(b)} }}" for p, b in s.arms)
            parts.append(f"match {s.scrut} {{ {arms} }}")
        else:
            parts.append(s.line())
    return "; ".join(parts)


@dataclass
class Func:
    name: str
    params: list           # [(name, type)]
    ret: object
    body: list
    tag: str = ""

    def render(self) -> str:
        ps = ", ".join(f"{n}: {t.dp()}" for n, t in self.params)
        head = f"fn {self.name}({ps}) -> {self.ret.dp()} {{"
        return "\n".join([head] + render_block(self.body, 1) + ["}"])


@dataclass
class Program:
    structs: list
    enums: list
    funcs: list            # in declaration order; the one named `main` is differentiated
    main: str = "f"
    values: dict = field(default_factory=dict)     # parameter name -> Python value
    rules: list = field(default_factory=list)      # [(helper name, rule text)]
    seed: int | None = None

    def render(self) -> str:
        parts = [s.decl() for s in self.structs] + [e.decl() for e in self.enums]
        parts += [fn.render() for fn in self.funcs]
        parts += [r for _, r in self.rules]
        return "\n".join(parts) + "\n"

    def main_fn(self) -> Func:
        return next(fn for fn in self.funcs if fn.name == self.main)

    def features(self) -> set:
        tags = set()

        def walk_expr(e):
            if isinstance(e, Lambda):
                tags.add(e.tag)
                walk_block(e.body)
                return
            if e.tag:
                tags.update(e.tag.split(","))
            for a in e.args:
                walk_expr(a)
            for blk in e.blocks() if isinstance(e, IfBlock) else ():
                walk_block(blk)

        def walk_block(b):
            for s in b:
                if s.tag:
                    tags.update(s.tag.split(","))
                for _, e in s.exprs():
                    walk_expr(e)
                for blk in s.blocks():
                    walk_block(blk)

        for fn in self.funcs:
            if fn.tag:
                tags.update(fn.tag.split(","))
            walk_block(fn.body)
        if self.rules:
            tags.add("rule")
        tags.discard("")
        return tags

    def param_kinds(self) -> set:
        out = set()
        for _, t in self.main_fn().params:
            out.add("p:" + kind_name(t))
        return out


def kind_name(t) -> str:
    if isinstance(t, TensorT):
        return "tensor"
    if isinstance(t, StructT):
        return "struct"
    if isinstance(t, TupleT):
        return "tuple"
    if isinstance(t, ListT):
        return "list"
    if isinstance(t, DictT):
        return "dict"
    return t.dp()

# ---------------------------------------------------------------------- scope


@dataclass
class Var:
    name: str
    ty: object
    mutable: bool
    depth: int                      # block depth where it was declared
    minlen: int = 0                 # list: least length
    keys: frozenset = frozenset()   # dict: keys certainly present
    readonly: bool = False          # captured by the lambda being generated


class Ctx:
    """Where the generator is: variables in scope, loop and function context."""

    def __init__(self, ret, fn_name: str):
        self.frames: list[list[Var]] = [[]]
        self.ret = ret
        self.fn_name = fn_name
        self.in_loop = False
        self.depth = 0               # block nesting (if/loop/arm bodies)
        self.in_lambda = False
        self.no_lambda = False       # inside a condition or a place

    def push(self):
        self.frames.append([])
        self.depth += 1

    def pop(self):
        self.frames.pop()
        self.depth -= 1

    def add(self, v: Var):
        self.frames[-1].append(v)
        return v

    def vars(self):
        seen = {}
        for fr in self.frames:
            for v in fr:
                seen[v.name] = v
        return list(seen.values())

    def of(self, pred):
        return [v for v in self.vars() if pred(v)]


# ---------------------------------------------------------------------- the generator

ELEM1 = ["sin", "cos", "tanh", "sigmoid", "atan"]
SHAPES_1D = [(2,), (3,)]


class Gen:
    """gen = Gen(seed, features); program = gen.program()"""

    def __init__(self, seed: int, features=ALL_FEATURES, feature_prob: float = 0.45):
        self.r = random.Random(seed)
        self.seed = seed
        enabled = set(features)
        # each program uses a random subset of the enabled features: small, attributable
        newest = {f for f, _ in NEWEST_FEATURES}
        self.on = {f for f in sorted(enabled - LATER_FEATURES - newest)
                   if self.r.random() < FEATURE_PROB.get(f, feature_prob)}
        later = random.Random(seed * 7919 + 17)
        self.on |= {f for f in sorted(enabled & LATER_FEATURES) if later.random() < FEATURE_PROB.get(f, 0.3)}
        for k, (f, prob) in enumerate(NEWEST_FEATURES):
            if f in enabled and random.Random(seed * 104729 + 31 + k).random() < prob:
                self.on.add(f)
        self.in_block = 0                      # generating an if expression's branch statements
        self.counter = 10                      # fresh names start at 10: parameters are x0, t1, p2 ...
        self.structs: list[StructT] = []
        self.enums: list[EnumT] = []
        self.helpers: list[Func] = []          # generated helpers
        self.helper_sigs: dict[str, FnT] = {}  # name -> type, for calls
        self.f2f_helpers: list[str] = []       # helpers of type fn(float) -> float
        self.rules: list = []
        self.budget = 0                        # statements left for the current function
        self.cur_fn = ""

    # ----------------------------------------------------------- utilities
    def has(self, f: str) -> bool:
        return f in self.on

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"{base}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, options):
        """options: [(weight, thunk)]; tries thunks in weighted order until one gives a value."""
        opts = [(w, t) for w, t in options if w > 0]
        while opts:
            total = sum(w for w, _ in opts)
            x = self.r.random() * total
            for i, (w, t) in enumerate(opts):
                x -= w
                if x <= 0:
                    break
            out = opts[i][1]()
            if out is not None:
                return out
            opts.pop(i)
        return None

    def const(self) -> Expr:
        return lit(self.r.choice([0.5, 1.5, 2.0, -0.7, 0.3, 1.2, -1.1, 0.9, 3.0, 0.25]))

    # ----------------------------------------------------------- types
    def struct_type(self) -> StructT:
        if self.structs and self.chance(0.6):
            return self.r.choice(self.structs)
        fields = [("a", FLOAT), ("b", FLOAT)]
        if self.has("tensor") and self.chance(0.5):
            fields.append(("t", TensorT(self.r.choice(SHAPES_1D))))
        st = StructT(f"S{len(self.structs)}", tuple(fields))
        self.structs.append(st)
        return st

    def enum_type(self) -> EnumT:
        if self.enums:
            return self.enums[0]
        vs = [("A", (FLOAT,)), ("B", (FLOAT, FLOAT)), ("C", ())]
        if self.has("tensor") and self.chance(0.3):
            vs.append(("D", (TensorT((3,)),)))
        et = EnumT("E0", tuple(vs))
        self.enums.append(et)
        return et

    def param_type(self):
        opts = [(6, lambda: FLOAT)]
        if self.has("tensor"):
            opts.append((3, lambda: TensorT(self.r.choice([(2,), (3,), (2, 3)]))))
        if self.has("struct"):
            opts.append((2, self.struct_type))
        if self.has("list"):
            opts.append((2, lambda: LIST))
        if self.has("tuple"):
            opts.append((2, lambda: TupleT((FLOAT, FLOAT)) if not self.has("tensor") or self.chance(0.6)
                         else TupleT((FLOAT, TensorT((2,))))))
        if self.has("dict"):
            opts.append((2, lambda: DICT))
        return self.pick(opts)

    def value_for(self, t):
        """A random Python value of parameter type t."""
        import numpy as np
        u = lambda: round(self.r.uniform(-1.5, 1.5), 3) or 0.4   # noqa: E731
        if t == FLOAT:
            return u()
        if isinstance(t, TensorT):
            return np.array([u() for _ in range(int(np.prod(t.shape)))]).reshape(t.shape)
        if isinstance(t, ListT):
            return [u() for _ in range(self.r.randint(2, 4))]
        if isinstance(t, DictT):
            keys = self.r.sample(["a", "b", "c"], self.r.randint(1, 3))
            return {k: u() for k in sorted(keys)}
        if isinstance(t, TupleT):
            return tuple(self.value_for(i) for i in t.items)
        if isinstance(t, StructT):
            return {n: self.value_for(ft) for n, ft in t.fields}
        raise ValueError(t)

    # ----------------------------------------------------------- the program
    def program(self) -> Program:
        nparams = self.r.choice([1, 1, 2, 2, 3])
        params, values = [], {}
        for i in range(nparams):
            t = self.param_type()
            name = {"float": "x", "tensor": "t", "struct": "p", "list": "xs", "tuple": "tp",
                    "dict": "d"}[kind_name(t)] + str(i)
            params.append((name, t))
            values[name] = self.value_for(t)
        # helpers first (the main body may call them), placed before or after `f`
        nhelp = self.r.choice([0, 1, 1, 2, 3]) if self.has("call") or self.has("hof") or self.has("recursion") \
            or self.has("retclosure") else 0
        before, after = [], []
        for _ in range(nhelp):
            h = self.helper()
            if h is not None:
                (before if self.chance(0.5) else after).append(h)
        main = Func("f", params, FLOAT, [])
        ctx = Ctx(FLOAT, "f")
        for n, t in params:
            v = ctx.add(Var(n, t, False, 0))
            if isinstance(t, ListT):
                v.minlen = len(values[n])
            if isinstance(t, DictT):
                v.keys = frozenset(values[n])
        self.cur_fn = "f"
        self.budget = self.r.randint(4, 16)
        main.body = self.body(ctx, top=True)
        funcs = before + [main] + after
        # user derivative rules (correct ones) on helpers of one float
        prog = Program(self.structs, self.enums, funcs, "f", values, self.rules, self.seed)
        return prog

    # ----------------------------------------------------------- helpers
    def helper(self) -> Func | None:
        kinds = []
        if self.has("call"):
            kinds += [(4, self.helper_plain), (1, self.helper_struct)]
        if self.has("recursion"):
            kinds.append((2, self.helper_rec))
        if self.has("hof"):
            kinds.append((2, self.helper_hof))
        if self.has("retclosure"):
            kinds.append((2, self.helper_mk))
        return self.pick(kinds)

    def helper_plain(self) -> Func:
        """fn hN(a: float, ...) -> float | (float, float) | tensor: a random body."""
        name = self.fresh("h")
        nparams = self.r.choice([1, 1, 2])
        params = [(f"a{i}", FLOAT) for i in range(nparams)]
        if self.has("tensor") and self.chance(0.25):
            params.append(("ta", TensorT((3,))))
        ret = FLOAT
        if self.has("tuple") and self.chance(0.25):
            ret = TupleT((FLOAT, FLOAT))
        elif self.has("tensor") and self.chance(0.15):
            ret = TensorT((3,))
        ctx = Ctx(ret, name)
        for n, t in params:
            ctx.add(Var(n, t, False, 0))
        saved = self.cur_fn, self.budget
        self.cur_fn, self.budget = name, self.r.randint(0, 4)
        body = self.body(ctx, top=True)
        self.cur_fn, self.budget = saved
        fn = Func(name, params, ret, body, tag="call")
        self.helpers.append(fn)
        self.helper_sigs[name] = FnT(tuple(t for _, t in params), ret)
        if ret == FLOAT and [t for _, t in params] == [FLOAT]:
            self.f2f_helpers.append(name)
            if self.has("rule") and self.chance(0.3):
                self.add_rule(fn)
        return fn

    def add_rule(self, fn: Func):
        """Replace fn's body by a known function with a correct derivative rule."""
        a = fn.params[0][0]
        choice = self.r.choice([
            (f"return {a} * {a} * {a} + sin({a})", f"{a}_bar = y_bar * (3.0 * {a} * {a} + cos({a}))"),
            (f"return log(1.0 + exp({a}))", f"{a}_bar = y_bar * sigmoid({a})"),
            (f"return {a} * exp(0.5 * {a})", f"{a}_bar = y_bar * exp(0.5 * {a}) * (1.0 + 0.5 * {a})"),
        ])
        fn.body = [Raw(text=choice[0], tag="rule")]
        self.rules.append((fn.name, f"derivative {fn.name}({a}) -> y {{\n    {choice[1]}\n}}"))

    def helper_struct(self) -> Func:
        """A struct in, a float or a struct out: an energy or a step."""
        st = self.struct_type()
        name = self.fresh("s")
        ret = st if self.chance(0.4) else FLOAT
        params = [("q", st), ("c", FLOAT)]
        ctx = Ctx(ret, name)
        for n, t in params:
            ctx.add(Var(n, t, False, 0))
        saved = self.cur_fn, self.budget
        self.cur_fn, self.budget = name, self.r.randint(0, 4)
        body = self.body(ctx, top=True)
        self.cur_fn, self.budget = saved
        fn = Func(name, params, ret, body, tag="call,struct")
        self.helpers.append(fn)
        self.helper_sigs[name] = FnT((st, FLOAT), ret)
        return fn

    def helper_rec(self) -> Func:
        name = self.fresh("rec")
        ctx = Ctx(FLOAT, name)
        ctx.add(Var("a", FLOAT, False, 0))
        base = self.fexpr(ctx, 2)
        step = self.fexpr(ctx, 2)
        comb = self.r.choice(["{0} * 0.5 + {1}", "sin({0}) + {1} * 0.3", "{0} * {1}"])
        rec_call = Expr(FLOAT, f"{name}(n - 1, {{0}})", [Expr(FLOAT, "0.8 * {0} + 0.1", [step])], tag="recursion")
        body = [If(tag="recursion", cond=Expr(BOOL, "n <= 0"), then=[Return(expr=base)]),
                Return(expr=Expr(FLOAT, comb, [rec_call, self.fexpr(ctx, 1)]))]
        fn = Func(name, [("n", INT), ("a", FLOAT)], FLOAT, body, tag="recursion")
        self.helpers.append(fn)
        self.helper_sigs[name] = FnT((INT, FLOAT), FLOAT)
        return fn

    def helper_hof(self) -> Func:
        name = self.fresh("ap")
        if self.has("list") and self.chance(0.4):
            body = [Decl(name="s", expr=lit(0.0), mutable=True),
                    For(tag="foreach", var="v", head="vs", body=[Assign(place="s", op="+=", expr=Expr(FLOAT, "g(v) * v"))]),
                    Return(expr=Expr(FLOAT, "s"))]
            params = [("g", F2F), ("vs", LIST)]
        else:
            e = self.r.choice(["g(v) * v", "g(v) + g(0.5 * v)", "g(g(v))", "v * g(v * v)"])
            body = [Return(expr=Expr(FLOAT, e))]
            params = [("g", F2F), ("v", FLOAT)]
        fn = Func(name, params, FLOAT, body, tag="hof")
        self.helpers.append(fn)
        self.helper_sigs[name] = FnT(tuple(t for _, t in params), FLOAT)
        return fn

    def helper_mk(self) -> Func:
        """fn mkN(a: float, b: float) -> fn(float) -> float: returns a closure over a, b."""
        name = self.fresh("mk")
        ctx = Ctx(F2F, name)
        ctx.add(Var("a", FLOAT, False, 0))
        ctx.add(Var("b", FLOAT, False, 0))
        lam = self.lambda_expr(ctx)
        fn = Func(name, [("a", FLOAT), ("b", FLOAT)], F2F, [Return(expr=lam)], tag="retclosure")
        self.helpers.append(fn)
        self.helper_sigs[name] = FnT((FLOAT, FLOAT), F2F)
        return fn

    # ----------------------------------------------------------- statements
    def body(self, ctx: Ctx, top: bool = False) -> list:
        """A function body: statements, then a return of the live values."""
        out = []
        while self.budget > 0:
            s = self.stmt(ctx)
            if s:
                out += s
        out.append(Return(expr=self.summary(ctx, ctx.ret)))
        return out

    def block(self, ctx: Ctx, n: int, loop: bool | None = None) -> list:
        """A nested block of up to n statements (its own scope)."""
        ctx.push()
        saved = ctx.in_loop
        if loop is not None:
            ctx.in_loop = loop or ctx.in_loop
        out = []
        k = self.r.randint(1, n)
        for _ in range(k):
            if self.budget <= 0 and out:
                break
            s = self.stmt(ctx)
            if s:
                out += s
        ctx.in_loop = saved
        ctx.pop()
        return out

    def stmt(self, ctx: Ctx) -> list | None:
        self.budget -= 1
        nest = ctx.depth < 2
        opts = [
            (5, lambda: self.s_decl(ctx)),
            (4, lambda: self.s_update(ctx)),
            (3 * self.has("branch") * nest, lambda: self.s_if(ctx)),
            (2 * self.has("while") * nest, lambda: self.s_while(ctx)),
            (2 * self.has("for") * nest, lambda: self.s_for(ctx)),
            (2 * self.has("foreach") * nest, lambda: self.s_foreach(ctx)),
            (2 * self.has("breakcont") * ctx.in_loop, lambda: self.s_breakcont(ctx)),
            (1 * self.has("earlyret") * (ctx.depth > 0 or self.chance(0.2)), lambda: self.s_earlyret(ctx)),
            (2 * self.has("list"), lambda: self.s_list(ctx)),
            ((2 + 4 * self.has("popexpr")) * self.has("append"), lambda: self.s_append(ctx)),
            (2 * self.has("dict"), lambda: self.s_dict(ctx)),
            (2 * self.has("struct"), lambda: self.s_struct(ctx)),
            (2 * self.has("tensor"), lambda: self.s_tensor(ctx)),
            (2 * self.has("twrite"), lambda: self.s_twrite(ctx)),
            (2 * self.has("enum") * nest, lambda: self.s_enum(ctx)),
            (2 * self.has("tuple"), lambda: self.s_tuple(ctx)),
            (2 * self.has("closure") * (not ctx.in_lambda), lambda: self.s_closure(ctx)),
            (1 * self.has("retclosure"), lambda: self.s_mkcall(ctx)),
            (1 * self.has("print") * (not ctx.in_lambda), lambda: self.s_print(ctx)),
            (2 * self.has("destructure") * nest, lambda: self.s_destructure(ctx)),
            (3 * self.has("slicewrite"), lambda: self.s_slicewrite(ctx)),
        ]
        return self.pick(opts)

    def float_vars(self, ctx, mutable=False):
        return ctx.of(lambda v: v.ty == FLOAT and (not mutable or (v.mutable and not v.readonly)))

    def s_decl(self, ctx):
        name = self.fresh("v")
        mutable = self.chance(0.6)
        e = self.fexpr(ctx, self.r.choice([1, 2, 2, 3]))
        ctx.add(Var(name, FLOAT, mutable, ctx.depth))
        return [Decl(name=name, expr=e, mutable=mutable)]

    def s_update(self, ctx):
        vs = self.float_vars(ctx, mutable=True)
        if not vs:
            return self.s_decl(ctx) if self.chance(0.5) else None
        v = self.r.choice(vs)
        op = self.r.choice(["=", "=", "+=", "-=", "*="])
        e = self.fexpr(ctx, self.r.choice([1, 2, 2]))
        if op == "*=":
            e = Expr(FLOAT, "(0.5 + 0.4 * tanh({0}))", [e])
        if op == "=" and self.chance(0.5):
            e = Expr(FLOAT, "{0} * 0.7 + {1}", [V(FLOAT, v.name), e])
        return [Assign(place=v.name, op=op, expr=e)]

    def cond(self, ctx) -> Expr:
        saved = ctx.no_lambda
        ctx.no_lambda = True
        a, b = self.fexpr(ctx, 2), self.fexpr(ctx, 1)
        ctx.no_lambda = saved
        op = self.r.choice([">", "<", ">=", "<="])
        c = Expr(BOOL, f"{{0}} {op} {{1}}", [a, b], tag="branch")
        if self.chance(0.15):
            c = Expr(BOOL, self.r.choice(["{0} && {1}", "{0} || {1}"]), [c, Expr(BOOL, "{0} > {1}", [self.fexpr(ctx, 1), self.const()])])
        return c

    def s_if(self, ctx):
        c = self.cond(ctx)
        then = self.block(ctx, 3)
        els = self.block(ctx, 3) if self.chance(0.6) else None
        return [If(tag="branch", cond=c, then=then, els=els)]

    def s_while(self, ctx):
        k = self.fresh("k")
        w = self.fresh("w")
        bound = self.r.randint(2, 6)
        start = self.fexpr(ctx, 2)
        limit = self.r.choice([1.5, 2.5, 3.0, 4.0])
        pre = [Decl(name=w, expr=start, mutable=True, tag="while"),
               Raw(text=f"var {k} = 0", essential=True)]
        ctx.add(Var(w, FLOAT, True, ctx.depth))
        cmp = self.r.choice(["<", ">"])
        if cmp == "<":
            cond = f"{k} < {bound} && {w} < {fmt_float(limit)}"
            grow = Expr(FLOAT, "{0} + 0.4 + 0.3 * sigmoid({1})", [V(FLOAT, w), self.fexpr(ctx, 1)])
        else:
            cond = f"{k} < {bound} && {w} > {fmt_float(-limit)}"
            grow = Expr(FLOAT, "{0} - 0.4 - 0.3 * sigmoid({1})", [V(FLOAT, w), self.fexpr(ctx, 1)])
        body = [Raw(text=f"{k} += 1", essential=True)]
        body += self.block(ctx, 3, loop=True)
        body.append(Assign(place=w, op="=", expr=grow, tag="while"))
        return pre + [While(tag="while", cond=cond, body=body)]

    def s_for(self, ctx):
        i = self.fresh("i")
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.minlen >= 1)
        if lists and self.chance(0.3):
            head = f"0..len({self.r.choice(lists).name})"
            hi = 1
        else:
            hi = self.r.randint(1, 4)
            head = f"0..{hi}"
        ctx.push()
        ctx.add(Var(i, INT, False, ctx.depth))
        body = self.block(ctx, 3, loop=True)
        ctx.pop()
        return [For(tag="for", var=i, head=head, body=body)]

    def s_destructure(self, ctx):
        """for (i, e) in enumerate(xs), for (a, b) in zip(xs, ys), for (k, v) in d.items()."""
        lists = ctx.of(lambda v: isinstance(v.ty, ListT))
        dicts = ctx.of(lambda v: isinstance(v.ty, DictT))
        acc = self.float_vars(ctx, mutable=True)
        if not acc or not (lists or dicts):
            return None
        ctx.push()
        target = self.r.choice(acc).name
        if dicts and (not lists or self.chance(0.3)):
            d = self.r.choice(dicts).name
            k, v = self.fresh("k"), self.fresh("v")
            ctx.add(Var(k, STRING, False, ctx.depth))
            ctx.add(Var(v, FLOAT, False, ctx.depth))
            head, binder, tag = f"{d}.items()", f"({k}, {v})", "destructure,dict"
        elif self.chance(0.5):
            xs = self.r.choice(lists).name
            i, v = self.fresh("i"), self.fresh("e")
            ctx.add(Var(i, INT, False, ctx.depth))
            ctx.add(Var(v, FLOAT, False, ctx.depth))
            head, binder, tag = f"enumerate({xs})", f"({i}, {v})", "destructure"
        else:
            xs, ys = self.r.choice(lists).name, self.r.choice(lists).name
            a, v = self.fresh("a"), self.fresh("e")
            ctx.add(Var(a, FLOAT, False, ctx.depth))
            ctx.add(Var(v, FLOAT, False, ctx.depth))
            head, binder, tag = f"zip({xs}, {ys})", f"({a}, {v})", "destructure"
        body = [Assign(place=target, op="+=", expr=Expr(FLOAT, "{0} * " + v, [self.fexpr(ctx, 1)], tag=tag))]
        body += self.block(ctx, 2, loop=True)
        ctx.pop()
        return [For(tag="foreach," + tag, var=binder, head=head, body=body)]

    def s_foreach(self, ctx):
        lists = ctx.of(lambda v: isinstance(v.ty, ListT))
        dicts = ctx.of(lambda v: isinstance(v.ty, DictT))
        if dicts and (not lists or self.chance(0.4)):
            d = self.r.choice(dicts)
            k = self.fresh("k")
            ctx.push()
            ctx.add(Var(k, STRING, False, ctx.depth))
            acc = self.float_vars(ctx, mutable=True)
            body = []
            if acc:
                body.append(Assign(place=self.r.choice(acc).name, op="+=",
                                   expr=Expr(FLOAT, "{0} * " + f"{d.name}[{k}]", [self.fexpr(ctx, 1)], tag="dict")))
            body += self.block(ctx, 2, loop=True)
            ctx.pop()
            return [For(tag="foreach,dict", var=k, head=d.name, body=body)]
        if not lists:
            return None
        xs = self.r.choice(lists)
        x = self.fresh("e")
        ctx.push()
        ctx.add(Var(x, FLOAT, False, ctx.depth))
        body = self.block(ctx, 3, loop=True)
        ctx.pop()
        return [For(tag="foreach", var=x, head=xs.name, body=body)]

    def s_breakcont(self, ctx):
        kw = self.r.choice(["break", "continue"])
        return [If(tag="breakcont,branch", cond=self.cond(ctx), then=[Raw(text=kw, tag="breakcont")])]

    def s_earlyret(self, ctx):
        if ctx.in_lambda:
            return None
        e = self.summary(ctx, ctx.ret)
        if e is None:
            return None
        return [If(tag="earlyret,branch", cond=self.cond(ctx), then=[Return(expr=e, tag="earlyret")])]

    def s_list(self, ctx):
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.mutable and not v.readonly and v.minlen >= 1)
        if lists and self.chance(0.6):
            xs = self.r.choice(lists)
            idx = self.index_for(ctx, xs)
            op = self.r.choice(["=", "+=", "*="])
            e = self.fexpr(ctx, 2)
            if op == "*=":
                e = Expr(FLOAT, "(1.0 + 0.3 * tanh({0}))", [e])
            return [Assign(tag="list", place=f"{xs.name}[{idx}]", op=op, expr=e)]
        name = self.fresh("ys")
        src = ctx.of(lambda v: isinstance(v.ty, ListT))
        if src and self.chance(0.5):
            s = self.r.choice(src)
            if self.chance(0.3):
                other = self.r.choice(src)
                e, n = Expr(LIST, f"{s.name} + {other.name}", tag="list"), s.minlen + other.minlen
            else:
                e, n = Expr(LIST, s.name, tag="list"), s.minlen
        else:
            n = self.r.randint(1, 3)
            e = Expr(LIST, "[" + ", ".join("{%d}" % i for i in range(n)) + "]", [self.fexpr(ctx, 2) for _ in range(n)], tag="list")
        ctx.add(Var(name, LIST, True, ctx.depth, minlen=n))
        return [Decl(tag="list", name=name, expr=e, mutable=True)]

    def index_for(self, ctx, xs: Var) -> str:
        ints = ctx.of(lambda v: v.ty == INT)
        if ints and self.chance(0.5):
            return f"{self.r.choice(ints).name} % len({xs.name})"
        if self.chance(0.2):
            return "-1"
        return str(self.r.randrange(xs.minlen))

    def s_append(self, ctx):
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.mutable and not v.readonly)
        if not lists:
            return self.s_list(ctx) if self.has("list") else None
        xs = self.r.choice(lists)
        if xs.depth == ctx.depth and xs.minlen >= 2 and self.chance(0.6 if self.has("popexpr") else 0.4):
            xs.minlen -= 1
            if self.has("popexpr") and self.chance(0.6):
                return self.pop_in_expr(ctx, xs)
            name = self.fresh("z")
            ctx.add(Var(name, FLOAT, False, ctx.depth))
            return [Decl(tag="append", name=name, expr=Expr(FLOAT, f"{xs.name}.pop()", tag="append"))]
        st = [ExprS(tag="append", expr=Expr(FLOAT, f"{xs.name}.append({{0}})", [self.fexpr(ctx, 2)]))]
        if self.chance(0.25):
            name = self.fresh("z")
            ctx.add(Var(name, FLOAT, False, ctx.depth))
            st.append(Decl(tag="append", name=name, expr=Expr(FLOAT, f"{xs.name}.pop()", tag="append")))
        elif xs.depth == ctx.depth:
            xs.minlen += 1
        return st

    def pop_in_expr(self, ctx, xs):
        """A pop inside an expression that reads it as something other than a float
        (its list already one shorter): an int, an index, a condition."""
        k = self.r.randrange(3)
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and (v.minlen >= 1 if v is not xs else v.minlen >= 2))
        if k == 1 and not lists:
            k = 0
        if k == 0:
            name = self.fresh("n")
            ctx.add(Var(name, INT, False, ctx.depth))
            return [Decl(tag="popexpr", name=name, expr=Expr(INT, f"int({xs.name}.pop() * 3.0)", tag="popexpr"))]
        name = self.fresh("z")
        if k == 1:
            ys = self.r.choice(lists)
            e = Expr(FLOAT, f"{ys.name}[int(abs({xs.name}.pop()) * 5.0) % len({ys.name})] * {{0}}",
                     [self.fexpr(ctx, 2)], tag="popexpr")
        else:
            e = Expr(FLOAT, f"(if {xs.name}.pop() > 0.0 {{{{ {{0}} }}}} else {{{{ {{1}} }}}})",
                     [self.fexpr(ctx, 2), self.fexpr(ctx, 2)], tag="popexpr")
        ctx.add(Var(name, FLOAT, False, ctx.depth))
        return [Decl(tag="popexpr", name=name, expr=e)]

    # ----------------------------------------------------------- slice assignment
    def s_slicewrite(self, ctx):
        """`xs[lo:hi] = ys`: on a list of floats in scope (or one made for it), on a list
        of tensors or structs made for it and read back into a float, or a slice write
        into a tensor."""
        k = self.r.random()
        if k < 0.2 and (self.has("tensor") or self.has("struct")):
            return self.slicewrite_aggregate(ctx)
        if k < 0.3 and self.has("tensor"):
            return self.slicewrite_tensor(ctx)
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.mutable and not v.readonly)
        out = []
        if not lists or self.chance(0.15):
            name = self.fresh("ys")
            src = ctx.of(lambda v: isinstance(v.ty, ListT))
            if src and self.chance(0.5):
                s = self.r.choice(src)
                e, n = Expr(LIST, s.name, tag="slicewrite"), s.minlen
            else:
                n = self.r.randint(1, 3)
                e = Expr(LIST, "[" + ", ".join("{%d}" % i for i in range(n)) + "]", [self.fexpr(ctx, 2) for _ in range(n)],
                         tag="slicewrite")
            xs = ctx.add(Var(name, LIST, True, ctx.depth, minlen=n))
            out.append(Decl(tag="slicewrite", name=name, expr=e, mutable=True))
        else:
            xs = self.r.choice(lists)
        bounds, removed, tag = self.slice_bounds(ctx, xs)
        # in a nested block (a loop's body above all) what reads xs earlier in the block may
        # run after the write: the write may not make xs shorter there
        need = 0 if xs.depth == ctx.depth else xs.minlen if removed is None else removed
        value, m = self.slice_value(ctx, xs, need)
        self.set_minlen(ctx, xs, removed, m)
        out.append(Assign(tag="slicewrite" + tag, place=f"{xs.name}[{bounds}]", op="=", expr=value))
        return out

    def slice_bounds(self, ctx, xs: Var) -> tuple[str, int | None, str]:
        """`lo:hi` for list xs, at most how many elements it covers (None: any number),
        and the tags of the features it uses besides slicewrite."""
        n = max(xs.minlen, 1)
        k = self.r.random()
        ints = ctx.of(lambda v: v.ty == INT)
        pops = ctx.of(lambda v: isinstance(v.ty, ListT) and v is not xs and v.mutable and not v.readonly
                      and v.depth == ctx.depth and v.minlen >= 2)
        if k < 0.35:
            lo = self.r.randrange(n + 1)
            hi = lo + self.r.choice([0, 1, 1, 2, 3]) if self.chance(0.85) else max(lo - 1, 0)
            return f"{lo}:{hi}", max(0, hi - lo), ""
        if k < 0.45:
            hi = self.r.randrange(n + 2)
            return f":{hi}", hi, ""
        if k < 0.55:
            return f"{self.r.randrange(n + 1)}:", None, ""
        if k < 0.65:
            a = self.r.randint(1, n)
            if a > 1 and self.chance(0.5):
                return f"-{a}:-{a - 1}", 1, ""
            return f"-{a}:", a, ""
        if k < 0.8 and ints:
            i = self.r.choice(ints).name
            w = self.r.choice([0, 1, 2])
            start = f"{i} % (len({xs.name}) + 1)"
            return (f"{start}:{start} + {w}" if w else f"{start}:{start}"), w, ""
        if k < 0.87 and pops and self.has("popexpr"):
            ys = self.r.choice(pops)
            ys.minlen -= 1
            return f"int(abs({ys.name}.pop()) * 2.0):", None, ",popexpr"
        if k < 0.94 and self.has("nonsmooth"):
            # a bound chosen by a float: a jump the oracle must step over
            saved, ctx.no_lambda = ctx.no_lambda, True
            e = self.fexpr(ctx, 1)
            ctx.no_lambda = saved
            return f"int(abs({e.render()}) * 2.0):", None, ",nonsmooth"
        if self.chance(0.3):
            return ":", None, ""
        return f"0:{n}", n, ""

    def slice_value(self, ctx, xs: Var, need: int = 0) -> tuple[Expr, int]:
        """A list of floats for a slice, at least `need` long, and its least length. (The
        value is evaluated before the bounds, which may pop another list: it reads that
        list as one shorter than it is.)"""
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.minlen + 1 >= need)
        k = self.r.random()
        if lists and k < 0.3:
            ys = self.r.choice(lists + ([xs] if xs.minlen >= need else []))
            if self.chance(0.3) or ys.minlen < need:
                return Expr(LIST, f"{ys.name} + [{{0}}]", [self.fexpr(ctx, 2)], tag="slicewrite"), ys.minlen + 1
            return Expr(LIST, ys.name, tag="slicewrite"), ys.minlen
        m = max(need, self.r.choice([0, 1, 1, 2, 2, 3]))
        if m == 0:
            return Expr(LIST, "[]", tag="slicewrite"), 0
        return Expr(LIST, "[" + ", ".join("{%d}" % i for i in range(m)) + "]", [self.fexpr(ctx, 2) for _ in range(m)],
                    tag="slicewrite"), m

    def set_minlen(self, ctx, xs: Var, removed: int | None, m: int) -> None:
        """xs's least length after a slice of at most `removed` elements became m: on
        every path where the write is straight-line in xs's block, else the least of
        before and after."""
        after = m if removed is None else max(m, xs.minlen - removed + m)
        xs.minlen = after if xs.depth == ctx.depth else min(xs.minlen, after)

    def slicewrite_aggregate(self, ctx):
        """A list of tensors or structs, a slice of it replaced, read back into a float."""
        name, v = self.fresh("ts"), self.fresh("v")
        if self.has("tensor") and (not self.has("struct") or self.chance(0.5)):
            shape = self.r.choice([(2,), (3,), (2, 3)])
            make = lambda: self.texpr(ctx, shape, 2)                   # noqa: E731
            n = self.r.randint(1, 3)
            read = lambda j: self.treduce(ctx, Expr(TensorT(shape), f"{name}[{j}]"))   # noqa: E731
        else:
            st = self.struct_type()
            make = lambda: self.struct_lit(ctx, st, 1)                  # noqa: E731
            n = self.r.randint(1, 3)
            read = lambda j: Expr(FLOAT, f"{name}[{j}].a * {name}[{j}].b")           # noqa: E731
        items = [make() for _ in range(n)]
        decl = Decl(tag="slicewrite", name=name, expr=Expr(None, "[" + ", ".join("{%d}" % i for i in range(n)) + "]",
                                                           items, tag="slicewrite"), mutable=True)
        lo = self.r.randrange(n + 1)
        hi = lo + self.r.choice([0, 1, 2]) if self.chance(0.7) else None
        if self.chance(0.2):
            value, m = Expr(None, name, tag="slicewrite"), n             # the list itself
        else:
            m = self.r.choice([0, 1, 1, 2])
            value = Expr(None, "[" + ", ".join("{%d}" % i for i in range(m)) + "]", [make() for _ in range(m)],
                         tag="slicewrite")
        removed = n - min(lo, n) if hi is None else max(0, min(hi, n) - min(lo, n))
        after = n - removed + m                                         # exactly: n and the bounds are known
        write = Assign(tag="slicewrite", place=f"{name}[{lo}:{'' if hi is None else hi}]", op="=", expr=value)
        if after == 0:
            e = Expr(FLOAT, f"float(len({name})) * {{0}}", [self.fexpr(ctx, 1)], tag="slicewrite")
        else:
            e = read(self.r.randrange(after))
            if after > 1 and self.chance(0.5):
                e = Expr(FLOAT, "{0} + {1}", [e, read(self.r.randrange(after))])
        ctx.add(Var(v, FLOAT, False, ctx.depth))
        return [decl, write, Decl(tag="slicewrite", name=v, expr=e, mutable=False)]

    def slicewrite_tensor(self, ctx):
        """A slice of a tensor written: `t[1:3] = u`, `t[i, 0:2] = u`, `t[0:1] = row`, `t[:, 1:] += 0.5`."""
        ts = ctx.of(lambda v: isinstance(v.ty, TensorT) and v.mutable and not v.readonly)
        if not ts:
            return self.s_tensor(ctx)
        t = self.r.choice(ts)
        shape = t.ty.shape
        if len(shape) == 1:
            n = shape[0]
            lo = self.r.randrange(n)
            hi = self.r.randint(lo + 1, n)
            if self.chance(0.4):
                return [Assign(tag="slicewrite,twrite", place=f"{t.name}[{lo}:{hi}]", op=self.r.choice(["=", "+="]),
                               expr=self.fexpr(ctx, 2))]
            return [Assign(tag="slicewrite,twrite", place=f"{t.name}[{lo}:{hi}]", op="=",
                           expr=self.texpr(ctx, (hi - lo,), 2) if hi - lo in (2, 3) else self.fexpr(ctx, 2))]
        r, c = shape
        k = self.r.random()
        if k < 0.4:
            return [Assign(tag="slicewrite,twrite", place=f"{t.name}[{self.r.randrange(r)}, 0:2]", op="=",
                           expr=self.texpr(ctx, (2,), 2))]
        if k < 0.7:
            return [Assign(tag="slicewrite,twrite", place=f"{t.name}[0:1]", op=self.r.choice(["=", "+="]),
                           expr=self.texpr(ctx, (c,), 2))]
        return [Assign(tag="slicewrite,twrite", place=f"{t.name}[:, 1:]", op=self.r.choice(["=", "+="]),
                       expr=self.fexpr(ctx, 2))]

    def s_dict(self, ctx):
        ds = ctx.of(lambda v: isinstance(v.ty, DictT) and v.mutable and not v.readonly)
        if ds and self.chance(0.65):
            d = self.r.choice(ds)
            k = self.r.choice(["a", "b", "c", "k"])
            op = "=" if k not in d.keys else self.r.choice(["=", "+=", "*="])
            e = self.fexpr(ctx, 2)
            if op == "*=":
                e = Expr(FLOAT, "(1.0 + 0.3 * tanh({0}))", [e])
            if d.depth == ctx.depth:
                d.keys = d.keys | {k}
            return [Assign(tag="dict", place=f'{d.name}["{k}"]', op=op, expr=e)]
        name = self.fresh("dd")
        src = ctx.of(lambda v: isinstance(v.ty, DictT))
        if src and self.chance(0.6):
            s = self.r.choice(src)
            e, keys = Expr(DICT, s.name), s.keys
        else:
            keys = self.r.sample(["a", "b", "c"], self.r.randint(1, 2))
            e = Expr(DICT, "{{" + ", ".join(f'"{k}": {{{i}}}' for i, k in enumerate(keys)) + "}}",
                     [self.fexpr(ctx, 2) for _ in keys])
            keys = frozenset(keys)
        ctx.add(Var(name, DICT, True, ctx.depth, keys=frozenset(keys)))
        return [Decl(tag="dict", name=name, expr=e, mutable=True, annot="dict[string, float]")]

    def struct_lit(self, ctx, st: StructT, depth: int) -> Expr:
        parts, args = [], []
        for i, (n, ft) in enumerate(st.fields):
            parts.append(f"{n}: {{{i}}}")
            args.append(self.fexpr(ctx, depth) if ft == FLOAT else self.texpr(ctx, ft.shape, depth))
        return Expr(st, f"{st.name} {{{{ " + ", ".join(parts) + " }}", args, tag="struct")

    def s_struct(self, ctx):
        ss = ctx.of(lambda v: isinstance(v.ty, StructT) and v.mutable and not v.readonly)
        if ss and self.chance(0.6):
            q = self.r.choice(ss)
            fname, ft = self.r.choice(q.ty.fields)
            if ft == FLOAT:
                op = self.r.choice(["=", "+=", "*="])
                e = self.fexpr(ctx, 2)
                if op == "*=":
                    e = Expr(FLOAT, "(1.0 + 0.3 * tanh({0}))", [e])
                return [Assign(tag="struct", place=f"{q.name}.{fname}", op=op, expr=e)]
            if self.has("twrite") and self.chance(0.5):
                i = self.r.randrange(ft.shape[0])
                return [Assign(tag="struct,twrite", place=f"{q.name}.{fname}[{i}]", op="=", expr=self.fexpr(ctx, 2))]
            return [Assign(tag="struct", place=f"{q.name}.{fname}", op=self.r.choice(["=", "+="]), expr=self.texpr(ctx, ft.shape, 2))]
        src = ctx.of(lambda v: isinstance(v.ty, StructT))
        name = self.fresh("q")
        if src and self.chance(0.5):
            s = self.r.choice(src)
            e, st = Expr(s.ty, s.name), s.ty
        else:
            st = self.struct_type()
            e = self.struct_lit(ctx, st, 2)
        helpers = [n for n, t in self.helper_sigs.items() if t.params == (st, FLOAT) and t.ret == st
                   and n != self.cur_fn]
        if helpers and self.chance(0.5):
            e = Expr(st, f"{self.r.choice(helpers)}({{0}}, {{1}})", [e, self.fexpr(ctx, 1)], tag="call")
        ctx.add(Var(name, st, True, ctx.depth))
        return [Decl(tag="struct", name=name, expr=e, mutable=True)]

    def s_tensor(self, ctx):
        ts = ctx.of(lambda v: isinstance(v.ty, TensorT) and v.mutable and not v.readonly)
        if ts and self.chance(0.4):
            t = self.r.choice(ts)
            op = self.r.choice(["=", "+=", "*="])
            e = self.texpr(ctx, t.ty.shape, 2)
            if op == "*=":
                e = Expr(t.ty, "sigmoid({0})", [e])
            return [Assign(tag="tensor", place=t.name, op=op, expr=e)]
        shape = self.r.choice([(2,), (3,), (3,), (2, 3)])
        name = self.fresh("t")
        e = self.texpr(ctx, shape, 2)
        mutable = self.chance(0.6) or self.has("twrite")
        ctx.add(Var(name, TensorT(shape), mutable, ctx.depth))
        return [Decl(tag="tensor", name=name, expr=e, mutable=mutable)]

    def s_twrite(self, ctx):
        ts = ctx.of(lambda v: isinstance(v.ty, TensorT) and v.mutable and not v.readonly)
        if not ts:
            return self.s_tensor(ctx) if self.has("tensor") or self.chance(0.5) else None
        t = self.r.choice(ts)
        shape = t.ty.shape
        if len(shape) == 1:
            n = shape[0]
            if n >= 2 and self.chance(0.3):
                return [Assign(tag="twrite", place=f"{t.name}[0:2]", op="=", expr=self.texpr(ctx, (2,), 2))]
            ints = ctx.of(lambda v: v.ty == INT)
            idx = f"{self.r.choice(ints).name} % {n}" if ints and self.chance(0.4) else str(self.r.randrange(n))
            op = self.r.choice(["=", "+="])
            return [Assign(tag="twrite", place=f"{t.name}[{idx}]", op=op, expr=self.fexpr(ctx, 2))]
        r, c = shape
        k = self.r.random()
        if k < 0.4:
            return [Assign(tag="twrite", place=f"{t.name}[{self.r.randrange(r)}, {self.r.randrange(c)}]", op="=",
                           expr=self.fexpr(ctx, 2))]
        if k < 0.7:
            return [Assign(tag="twrite", place=f"{t.name}[{self.r.randrange(r)}]", op="=", expr=self.texpr(ctx, (c,), 2))]
        return [Assign(tag="twrite", place=f"{t.name}[:, {self.r.randrange(c)}]", op="=", expr=self.texpr(ctx, (r,), 2))]

    def s_enum(self, ctx):
        et = self.enum_type()
        name = self.fresh("en")

        def make(vname, ts):
            if not ts:
                return Expr(et, f"{et.name}.{vname}", tag="enum")
            args = [self.fexpr(ctx, 2) if t == FLOAT else self.texpr(ctx, t.shape, 1) for t in ts]
            return Expr(et, f"{et.name}.{vname}(" + ", ".join("{%d}" % i for i in range(len(ts))) + ")", args, tag="enum")
        out = []
        vn, vts = self.r.choice(et.variants)
        if self.chance(0.5) and self.has("branch"):
            out.append(Decl(tag="enum", name=name, expr=make(vn, vts), mutable=True))
            vn2, vts2 = self.r.choice(et.variants)
            out.append(If(tag="branch,enum", cond=self.cond(ctx), then=[Assign(place=name, op="=", expr=make(vn2, vts2))]))
        else:
            out.append(Decl(tag="enum", name=name, expr=make(vn, vts)))
        ctx.add(Var(name, et, False, ctx.depth))
        acc = self.float_vars(ctx, mutable=True)
        if not acc:
            a = self.fresh("v")
            out.append(Decl(name=a, expr=lit(0.0), mutable=True))
            ctx.add(Var(a, FLOAT, True, ctx.depth))
            target = a
        else:
            target = self.r.choice(acc).name
        arms = []
        variants = list(et.variants)
        self.r.shuffle(variants)
        covered = variants[: self.r.randint(1, len(variants))]
        for vname, ts in covered:
            ctx.push()
            names = []
            for t in ts:
                nm = self.fresh("r")
                names.append(nm)
                ctx.add(Var(nm, t, False, ctx.depth))
            pat = (self.r.choice([vname, f"{et.name}.{vname}"]) + (f"({', '.join(names)})" if names else ""))
            e = self.fexpr(ctx, 2)
            pay = [V(FLOAT, n) if t == FLOAT else Expr(FLOAT, f"sum({n})") for n, t in zip(names, ts)]
            if pay:
                e = Expr(FLOAT, "{0} * {1}", [e, pay[0]]) if self.chance(0.5) else Expr(FLOAT, "{0} + " + " + ".join("{%d}" % (i + 1) for i in range(len(pay))), [e] + pay)
            body = [Assign(place=target, op=self.r.choice(["=", "+="]), expr=e, tag="enum")]
            ctx.pop()
            arms.append((pat, body))
        if len(covered) < len(variants):
            arms.append(("_", [Assign(place=target, op="+=", expr=self.fexpr(ctx, 1))]))
        out.append(Match(tag="enum", scrut=name, arms=arms))
        return out

    def s_tuple(self, ctx):
        helpers = [n for n, t in self.helper_sigs.items() if isinstance(t.ret, TupleT) and n != self.cur_fn
                   and all(p == FLOAT for p in t.params)]
        if helpers and self.chance(0.5):
            h = self.r.choice(helpers)
            ht = self.helper_sigs[h]
            e = Expr(ht.ret, f"{h}(" + ", ".join("{%d}" % i for i in range(len(ht.params))) + ")",
                     [self.fexpr(ctx, 2) for _ in ht.params], tag="call,tuple")
            items = ht.ret.items
        else:
            items = (FLOAT, FLOAT) if not self.has("tensor") or self.chance(0.7) else (FLOAT, TensorT((3,)))
            e = Expr(TupleT(items), "(" + ", ".join("{%d}" % i for i in range(len(items))) + ")",
                     [self.fexpr(ctx, 2) if t == FLOAT else self.texpr(ctx, t.shape, 1) for t in items], tag="tuple")
        if self.chance(0.5):
            names = [self.fresh("u") for _ in items]
            for n, t in zip(names, items):
                ctx.add(Var(n, t, False, ctx.depth))
            return [DeclTuple(tag="tuple", names=names, expr=e)]
        name = self.fresh("tu")
        ctx.add(Var(name, TupleT(items), False, ctx.depth))
        return [Decl(tag="tuple", name=name, expr=e)]

    def lambda_expr(self, ctx, nstmts: int = 0) -> Lambda:
        """fn(y: float) -> float { ... } reading (capturing) what is in scope."""
        y = self.fresh("y")
        inner = Ctx(FLOAT, ctx.fn_name)
        for v in ctx.vars():
            inner.add(Var(v.name, v.ty, v.mutable, -1, v.minlen, v.keys, readonly=True))
        inner.push()
        inner.add(Var(y, FLOAT, False, inner.depth))
        inner.in_lambda = True
        inner.no_lambda = True
        body = []
        saved = self.budget
        self.budget = nstmts
        for _ in range(nstmts):
            s = self.s_decl(inner) if self.chance(0.7) else self.s_update(inner)
            if s:
                body += s
        self.budget = saved
        e = self.fexpr(inner, 2)
        e = Expr(FLOAT, "{0} * " + y + " + {1}", [e, self.fexpr(inner, 1)]) if self.chance(0.5) else Expr(FLOAT, "{0} + sin(" + y + ")", [e])
        body.append(Return(expr=e))
        lam = Lambda(F2F, [(y, FLOAT)], body)
        if not self.has("capmut"):
            # what the lambda captured is never changed afterwards
            import re
            used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", lam.render()))
            for v in ctx.vars():
                if v.name in used:
                    v.mutable = False
        return lam

    def s_closure(self, ctx):
        name = self.fresh("lam")
        lam = self.lambda_expr(ctx, self.r.choice([0, 0, 1, 2]))
        ctx.add(Var(name, F2F, False, ctx.depth))
        out = [Decl(tag="closure", name=name, expr=lam)]
        # capture by value: change a captured var afterwards
        mut = self.float_vars(ctx, mutable=True)
        if mut and self.has("capmut") and self.chance(0.4):
            out.append(Assign(place=self.r.choice(mut).name, op="=", expr=self.fexpr(ctx, 1), tag="closure,capmut"))
        return out

    def s_mkcall(self, ctx):
        mks = [n for n, t in self.helper_sigs.items() if t.ret == F2F and n != self.cur_fn]
        if not mks:
            return None
        name = self.fresh("c")
        e = Expr(F2F, f"{self.r.choice(mks)}({{0}}, {{1}})", [self.fexpr(ctx, 2), self.fexpr(ctx, 1)])
        ctx.add(Var(name, F2F, False, ctx.depth))
        return [Decl(tag="retclosure", name=name, expr=e)]

    def s_print(self, ctx):
        return [ExprS(tag="print", expr=Expr(FLOAT, f'print("{self.cur_fn}", {{0}})', [self.fexpr(ctx, 1)]))]

    # ----------------------------------------------------------- summaries
    def read_float(self, ctx, v: Var) -> Expr | None:
        """A float read from variable v (of any type)."""
        t = v.ty
        if t == FLOAT:
            return V(FLOAT, v.name)
        if isinstance(t, TensorT):
            return self.treduce(ctx, V(t, v.name))
        if isinstance(t, ListT):
            if v.minlen >= 1:
                return Expr(FLOAT, f"{v.name}[{self.r.randrange(v.minlen)}]", tag="list")
            return None
        if isinstance(t, DictT):
            if v.keys:
                return Expr(FLOAT, f'{v.name}["{self.r.choice(sorted(v.keys))}"]', tag="dict")
            if self.has("get"):
                return Expr(FLOAT, f'{v.name}.get("a", {{0}})', [self.fexpr(ctx, 1)], tag="get,dict")
            return None
        if isinstance(t, StructT):
            fname, ft = self.r.choice(t.fields)
            if ft == FLOAT:
                return Expr(FLOAT, f"{v.name}.{fname}", tag="struct")
            return self.treduce(ctx, Expr(ft, f"{v.name}.{fname}", tag="struct"))
        if isinstance(t, TupleT):
            i = self.r.randrange(len(t.items))
            it = t.items[i]
            if it == FLOAT:
                return Expr(FLOAT, f"{v.name}.{i}", tag="tuple")
            return self.treduce(ctx, Expr(it, f"{v.name}.{i}", tag="tuple"))
        if t == F2F:
            if ctx.no_lambda:
                return None
            return Expr(FLOAT, f"{v.name}({{0}})", [self.fexpr(ctx, 1)], tag="closure")
        return None

    def summary(self, ctx, ret) -> Expr:
        """An expression of type ret combining the values in scope, so that what the
        body computed reaches the result."""
        if ret != FLOAT:
            return self.value_of(ctx, ret, 2)
        terms = []
        vs = [v for v in ctx.vars()]
        self.r.shuffle(vs)
        for v in vs[:6]:
            e = self.read_float(ctx, v)
            if e is not None:
                terms.append(e)
        if not terms:
            return self.fexpr(ctx, 2)
        out = terms[0]
        for t in terms[1:]:
            k = self.r.random()
            if k < 0.45:
                out = Expr(FLOAT, "{0} + {1}", [out, t])
            elif k < 0.75:
                out = Expr(FLOAT, "{0} * {1}", [out, t])
            elif k < 0.9 and self.has("elem"):
                out = Expr(FLOAT, "{0} + sin({1})", [out, t], tag="elem")
            else:
                out = Expr(FLOAT, "{0} - 0.5 * {1} * {1}", [out, t])
        return out

    def value_of(self, ctx, t, depth) -> Expr:
        """Any expression of type t."""
        if t == FLOAT:
            return self.fexpr(ctx, depth)
        if isinstance(t, TensorT):
            return self.texpr(ctx, t.shape, depth)
        if isinstance(t, TupleT):
            return Expr(t, "(" + ", ".join("{%d}" % i for i in range(len(t.items))) + ")",
                        [self.value_of(ctx, i, depth) for i in t.items], tag="tuple")
        if isinstance(t, StructT):
            same = ctx.of(lambda v: v.ty == t)
            if same and self.chance(0.5):
                q = self.r.choice(same)
                fields = []
                args = []
                for i, (n, ft) in enumerate(t.fields):
                    fields.append(f"{n}: {{{i}}}")
                    if ft == FLOAT:
                        args.append(Expr(FLOAT, "{0} + {1}", [Expr(FLOAT, f"{q.name}.{n}"), self.fexpr(ctx, 1)]))
                    else:
                        args.append(Expr(ft, "{0} * {1}", [Expr(ft, f"{q.name}.{n}"), self.fexpr(ctx, 1)]))
                return Expr(t, f"{t.name} {{{{ " + ", ".join(fields) + " }}", args, tag="struct")
            return self.struct_lit(ctx, t, depth)
        if t == F2F:
            return self.lambda_expr(ctx)
        raise ValueError(t)

    # ----------------------------------------------------------- float expressions
    def form(self, formats, args: list, tag: str = "", ty=FLOAT, fallback: str | None = None) -> Expr:
        """One of formats over args, but not one that repeats a long argument
        (`log({0} * {0} + 1.0)` of a long `{0}`), which would double the program."""
        import re
        if isinstance(formats, str):
            formats = [formats]
        big = {i for i, a in enumerate(args) if len(a.render()) > 24}

        def repeats(f):
            idx = re.findall(r"(?<!\{)\{(\d+)\}", f)
            return any(idx.count(str(i)) > 1 for i in big)
        ok = [f for f in formats if not repeats(f)]
        if not ok:
            ok = [fallback] if fallback else [f for f in formats]
        return Expr(ty, self.r.choice(ok), args, tag=tag)

    def fexpr(self, ctx, depth: int) -> Expr:
        if depth <= 0 or self.chance(0.3):
            return self.fleaf(ctx)
        d = depth - 1
        e = lambda: self.fexpr(ctx, d)   # noqa: E731
        el, pw, ns = self.has("elem"), self.has("pow"), self.has("nonsmooth")
        lam_ok = not ctx.no_lambda
        opts = [
            (3, lambda: Expr(FLOAT, "{0} + {1}", [e(), e()])),
            (2, lambda: Expr(FLOAT, "{0} - {1}", [e(), e()])),
            (4, lambda: Expr(FLOAT, "{0} * {1}", [e(), e()])),
            (1, lambda: Expr(FLOAT, "-{0}", [e()])),
            (1, lambda: self.form("{0} / ({1} * {1} + 1.0)", [e(), e()], fallback="{0} / (1.5 + sin({1}))")),
            (1, lambda: Expr(FLOAT, "({0}) / " + self.r.choice(["2.0", "3.0", "0.7"]), [e()])),
            (6 * el, lambda: Expr(FLOAT, self.r.choice(ELEM1) + "({0})", [e()], tag="elem")),
            (1 * el, lambda: Expr(FLOAT, self.r.choice(["exp(tanh({0}))", "exp(0.5 * {0})", "exp({0})"]), [e()], tag="elem")),
            (2 * el, lambda: self.form("log({0} * {0} + 1.0)", [e()], tag="elem", fallback="log(1.5 + sin({0}))")),
            (2 * el, lambda: self.form("sqrt({0} * {0} + 0.5)", [e()], tag="elem", fallback="sqrt(1.0 + sigmoid({0}))")),
            (1 * el, lambda: self.form((["atan2({0}, {1} * {1} + 0.5)", "log1p({0} * {0})",
                                                        "expm1(0.5 * {0})", "sinh(0.5 * {0})", "cosh(0.5 * {0})",
                                                        "asin(0.9 * tanh({0}))", "acos(0.9 * tanh({1}))",
                                                        "tan(tanh({0}))", "log(sigmoid({0}))"]), [e(), e()], tag="elem")),
            (3 * pw, lambda: self.form((["{0} ** 2", "{0} ** 3", "{0} ** 2.0", "({0} * {0} + 0.5) ** 1.5",
                                                       "({0} * {0} + 0.5) ** 0.5", "pow({0} * {0} + 1.0, 0.7)",
                                                       "({0} * {0} + 1.0) ** {1}", "pow({0} * {0} + 0.5, {1})",
                                                       "1.5 ** {0}", "({0} * {0} + 1.0) ** -1", "{0} ** 4",
                                                       "(1.0 + sigmoid({0})) ** {1}", "(2.0 + sin({0})) ** 1.5"]),
                                     [e(), e()], tag="pow")),
            (3 * ns, lambda: self.form((["abs({0})", "max({0}, {1})", "min({0}, {1})", "relu({0})",
                                                        "clip({0}, -0.5, 0.8)", "atan2({0}, {1})", "floor({0}) * {1}",
                                                        "sign({0}) * {1}"]), [e(), e()], tag="nonsmooth")),
            (2 * self.has("floatconv"), lambda: self.f_floatconv(ctx, d)),
            (1 * self.has("stopgrad"), lambda: Expr(FLOAT, "stop_gradient({0})", [e()], tag="stopgrad")),
            (2 * self.has("nestedgrad") * lam_ok, lambda: self.f_nestedgrad(ctx, d)),
            (3 * self.has("call"), lambda: self.f_call(ctx, d)),
            (2 * self.has("recursion"), lambda: self.f_rec(ctx, d)),
            (2 * self.has("hof") * lam_ok, lambda: self.f_hof(ctx, d)),
            (2 * self.has("closure") * lam_ok, lambda: self.f_lamcall(ctx, d)),
            (2 * self.has("get"), lambda: self.f_get(ctx, d)),
            (3 * self.has("tensor"), lambda: self.treduce(ctx, self.texpr(ctx, self.r.choice([(2,), (3,), (2, 3)]), d))),
            (2 * self.has("ifexpr"), lambda: Expr(FLOAT, "if {0} {{ {1} }} else {{ {2} }}", [self.cond(ctx), e(), e()],
                                                  tag="ifexpr,branch")),
            (2 * (self.has("listfns") or self.has("slices")), lambda: self.f_listfn(ctx, d)),
            (3 * self.has("ifblock") * lam_ok * (not self.in_block) * (ctx.depth < 3), lambda: self.f_ifblock(ctx, d)),
        ]
        return self.pick(opts) or self.fleaf(ctx)

    def f_ifblock(self, ctx, d):
        """`if c { stmts; a } else { stmts; b }`: each branch's statements in a scope of
        their own (declaring, updating the function's vars, looping, breaking, returning)
        before its value."""
        c = self.cond(ctx)
        self.in_block += 1
        try:
            then, a = self.branch_block(ctx, d)
            els, b = self.branch_block(ctx, d)
        finally:
            self.in_block -= 1
        return IfBlock(FLOAT, "", [c, a, b], tag="ifblock,branch", then=then, els=els)

    def branch_block(self, ctx, d):
        ctx.push()
        stmts = []
        for _ in range(self.r.choice([0, 1, 1, 2, 3])):
            s = self.stmt(ctx)
            if s:
                stmts += s
        value = self.fexpr(ctx, max(d, 1))
        ctx.pop()
        return stmts, value

    def f_listfn(self, ctx, d):
        """A float from a list of floats through sum, max, min, sort, map, filter or a slice."""
        lists = ctx.of(lambda v: isinstance(v.ty, ListT) and v.minlen >= 2)
        if not lists:
            return None
        xs = self.r.choice(lists).name
        forms = []
        if self.has("listfns"):
            forms.append((f"sum({xs})", "listfns"))
            if not ctx.no_lambda:
                forms.append((f"sum(map(fn(y: float) -> float {{{{ return y * {{0}} }}}}, {xs}))", "listfns,closure"))
                forms.append((f"sum(filter(fn(y: float) -> bool {{{{ return y > {{0}} }}}}, {xs}))", "listfns,branch"))
            if self.has("nonsmooth"):
                forms += [(f"max({xs})", "listfns,nonsmooth"), (f"min({xs}) * {{0}}", "listfns,nonsmooth"),
                          (f"sort({xs})[1]", "listfns,nonsmooth")]
        if self.has("slices"):
            forms += [(f"sum({xs}[1:])", "slices"), (f"{xs}[:1][0] * {{0}}", "slices"), (f"{xs}[-2:][0]", "slices"),
                      (f"{xs}[0:2][1]", "slices")]
        if not forms:
            return None
        fmt, tag = self.r.choice(forms)
        if "{0}" in fmt.replace("{{", "").replace("}}", ""):
            saved = ctx.no_lambda
            ctx.no_lambda = True
            arg = self.fexpr(ctx, d)
            ctx.no_lambda = saved
            return Expr(FLOAT, fmt, [arg], tag=tag)
        return Expr(FLOAT, fmt, tag=tag)

    def fleaf(self, ctx) -> Expr:
        vs = ctx.vars()
        floats = [v for v in vs if v.ty == FLOAT]
        others = [v for v in vs if v.ty != FLOAT and v.ty not in (INT, BOOL, STRING) and not isinstance(v.ty, (EnumT, FnT))]
        k = self.r.random()
        if floats and k < 0.6:
            return V(FLOAT, self.r.choice(floats).name)
        if others and k < 0.85:
            v = self.r.choice(others)
            saved = ctx.no_lambda
            ctx.no_lambda = True
            e = self.read_float_leaf(ctx, v)
            ctx.no_lambda = saved
            if e is not None:
                return e
        if floats and k < 0.9:
            return V(FLOAT, self.r.choice(floats).name)
        return self.const()

    def read_float_leaf(self, ctx, v: Var) -> Expr | None:
        t = v.ty
        if isinstance(t, TensorT):
            if len(t.shape) == 1:
                return self.r.choice([Expr(FLOAT, f"sum({v.name})", tag="tensor"),
                                      Expr(FLOAT, f"float({v.name}[{self.r.randrange(t.shape[0])}])", tag="tensor")])
            return Expr(FLOAT, f"float({v.name}[{self.r.randrange(t.shape[0])}, {self.r.randrange(t.shape[1])}])", tag="tensor")
        if isinstance(t, DictT) and not v.keys:
            if self.has("get"):
                return Expr(FLOAT, f'{v.name}.get("{self.r.choice("abc")}", 0.5)', tag="get,dict")
            return None
        if isinstance(t, StructT):
            fname, ft = self.r.choice(t.fields)
            if ft == FLOAT:
                return Expr(FLOAT, f"{v.name}.{fname}", tag="struct")
            return Expr(FLOAT, f"float({v.name}.{fname}[{self.r.randrange(ft.shape[0])}])", tag="struct,tensor")
        if isinstance(t, TupleT):
            i = self.r.randrange(len(t.items))
            if t.items[i] == FLOAT:
                return Expr(FLOAT, f"{v.name}.{i}", tag="tuple")
            return Expr(FLOAT, f"sum({v.name}.{i})", tag="tuple,tensor")
        return self.read_float(ctx, v)

    def f_floatconv(self, ctx, d):
        ints = ctx.of(lambda v: v.ty == INT)
        if ints and self.chance(0.4):
            return Expr(FLOAT, "float({0}) * {1}", [Expr(INT, self.r.choice(ints).name), self.fexpr(ctx, d)], tag="floatconv")
        return Expr(FLOAT, "float({0})", [self.fexpr(ctx, d)], tag="floatconv")

    def f_get(self, ctx, d):
        ds = ctx.of(lambda v: isinstance(v.ty, DictT))
        if not ds:
            return None
        dv = self.r.choice(ds)
        k = self.r.choice(["a", "b", "c", "z"])
        return Expr(FLOAT, f'{dv.name}.get("{k}", {{0}})', [self.fexpr(ctx, d)], tag="get,dict")

    def f_nestedgrad(self, ctx, d):
        k = self.r.random()
        lams = ctx.of(lambda v: v.ty == F2F)
        if k < 0.5:
            lam = self.lambda_expr(ctx)
            return Expr(FLOAT, "grad({0})({1})", [lam, self.fexpr(ctx, d)], tag="nestedgrad,closure")
        if k < 0.7 and lams:
            return Expr(FLOAT, f"grad({self.r.choice(lams).name})({{0}})", [self.fexpr(ctx, d)], tag="nestedgrad,closure")
        if k < 0.85 and self.f2f_helpers and self.cur_fn not in self.f2f_helpers:
            return Expr(FLOAT, f"grad({self.r.choice(self.f2f_helpers)})({{0}})", [self.fexpr(ctx, d)], tag="nestedgrad,call")
        lam = self.lambda_expr(ctx)
        return Expr(FLOAT, "jvp({0}, {1}, 1.0).1", [lam, self.fexpr(ctx, d)], tag="nestedgrad,closure")

    def f_call(self, ctx, d):
        cands = [(n, t) for n, t in self.helper_sigs.items() if n != self.cur_fn and not n.startswith(("rec", "ap", "mk"))]
        if not cands:
            return None
        n, t = self.r.choice(cands)
        args = [self.value_of(ctx, p, max(d - 1, 0)) for p in t.params]
        call = Expr(t.ret, f"{n}(" + ", ".join("{%d}" % i for i in range(len(args))) + ")", args, tag="call")
        if t.ret == FLOAT:
            return call
        if isinstance(t.ret, TupleT):
            return Expr(FLOAT, "{0}.%d" % self.r.randrange(len(t.ret.items)), [call], tag="tuple") \
                if all(i == FLOAT for i in t.ret.items) else None
        if isinstance(t.ret, TensorT):
            return self.treduce(ctx, call)
        if isinstance(t.ret, StructT):
            fname, ft = self.r.choice(t.ret.fields)
            return Expr(FLOAT, "{0}.%s" % fname, [call]) if ft == FLOAT else Expr(FLOAT, "sum({0}.%s)" % fname, [call])
        return None

    def f_rec(self, ctx, d):
        recs = [n for n in self.helper_sigs if n.startswith("rec") and n != self.cur_fn]
        if not recs:
            return None
        return Expr(FLOAT, f"{self.r.choice(recs)}({self.r.randint(0, 3)}, {{0}})", [self.fexpr(ctx, d)], tag="recursion")

    def f_hof(self, ctx, d):
        aps = [(n, t) for n, t in self.helper_sigs.items() if n.startswith("ap") and n != self.cur_fn]
        if not aps:
            return None
        n, t = self.r.choice(aps)
        lams = ctx.of(lambda v: v.ty == F2F)
        k = self.r.random()
        if k < 0.3 and lams:
            fnarg = Expr(F2F, self.r.choice(lams).name, tag="closure")
        elif k < 0.5 and [h for h in self.f2f_helpers if h != self.cur_fn]:
            fnarg = Expr(F2F, self.r.choice([h for h in self.f2f_helpers if h != self.cur_fn]), tag="call")
        elif k < 0.65:
            fnarg = Expr(F2F, self.r.choice(["sin", "tanh", "cos", "sigmoid"]))
        else:
            fnarg = self.lambda_expr(ctx)
        if t.params[1] == LIST:
            lists = ctx.of(lambda v: isinstance(v.ty, ListT))
            second = Expr(LIST, self.r.choice(lists).name) if lists and self.chance(0.6) else \
                Expr(LIST, "[{0}, {1}]", [self.fexpr(ctx, d), self.fexpr(ctx, d)])
        else:
            second = self.fexpr(ctx, d)
        return Expr(FLOAT, f"{n}({{0}}, {{1}})", [fnarg, second], tag="hof")

    def f_lamcall(self, ctx, d):
        lams = ctx.of(lambda v: v.ty == F2F)
        if lams and self.chance(0.7):
            return Expr(FLOAT, f"{self.r.choice(lams).name}({{0}})", [self.fexpr(ctx, d)], tag="closure")
        return Expr(FLOAT, "({0})({1})", [self.lambda_expr(ctx), self.fexpr(ctx, d)], tag="closure")

    # ----------------------------------------------------------- tensors
    def treduce(self, ctx, t: Expr) -> Expr:
        shape = t.ty.shape
        opts = [(4, "sum({0})"), (2, "mean({0})"), (1, "sum({0} * {0})")]
        if len(shape) == 1:
            opts += [(2, f"float({{0}}[{self.r.randrange(shape[0])}])"), (1, "dot({0}, {0})")]
            if self.has("elem"):
                opts.append((1, "logsumexp({0})"))
        else:
            opts.append((2, f"float({{0}}[{self.r.randrange(shape[0])}, {self.r.randrange(shape[1])}])"))
        if self.has("nonsmooth"):
            opts += [(1, "max({0})"), (1, "min({0})")]
        if len(t.render()) > 24:
            opts = [(w, f) for w, f in opts if f.count("{0}") == 1]
        total = sum(w for w, _ in opts)
        x = self.r.random() * total
        for w, f in opts:
            x -= w
            if x <= 0:
                break
        return Expr(FLOAT, f, [t], tag="tensor" + (",nonsmooth" if f.startswith(("max", "min")) else ""))

    def tleaf(self, ctx, shape) -> Expr:
        t = TensorT(shape)
        same = ctx.of(lambda v: v.ty == t)
        k = self.r.random()
        if same and k < 0.6:
            return V(t, self.r.choice(same).name)
        fields = [(v, n) for v in ctx.vars() if isinstance(v.ty, StructT) for n, ft in v.ty.fields if ft == t]
        if fields and k < 0.7:
            v, n = self.r.choice(fields)
            return Expr(t, f"{v.name}.{n}", tag="struct")
        tups = [(v, i) for v in ctx.vars() if isinstance(v.ty, TupleT) for i, it in enumerate(v.ty.items) if it == t]
        if tups and k < 0.75:
            v, i = self.r.choice(tups)
            return Expr(t, f"{v.name}.{i}", tag="tuple")
        if len(shape) == 1 and k < 0.85:
            n = shape[0]
            return Expr(t, "tensor([" + ", ".join("{%d}" % i for i in range(n)) + "])",
                        [self.fleaf(ctx) for _ in range(n)], tag="tensor")
        if k < 0.93:
            return Expr(t, f"full({shape_dp(shape)}, {{0}})", [self.fleaf(ctx)], tag="tensor")
        if len(shape) == 1 and self.has("linspace"):
            return Expr(t, f"linspace({{0}}, 1.0, {shape[0]})", [self.fleaf(ctx)], tag="tensor,linspace")
        return Expr(t, f"ones({shape_dp(shape)}) * {{0}}", [self.fleaf(ctx)], tag="tensor")

    def texpr(self, ctx, shape, depth) -> Expr:
        t = TensorT(shape)
        if shape not in ((2,), (3,), (2, 3)):
            return self.tsecondary(ctx, shape, depth)
        if depth <= 0 or self.chance(0.3):
            return self.tleaf(ctx, shape)
        d = depth - 1
        e = lambda s=shape: self.texpr(ctx, s, d)   # noqa: E731
        el, pw, ns = self.has("elem"), self.has("pow"), self.has("nonsmooth")
        one = len(shape) == 1
        opts = [
            (3, lambda: Expr(t, self.r.choice(["{0} + {1}", "{0} - {1}", "{0} * {1}"]), [e(), e()], tag="tensor")),
            (2, lambda: Expr(t, self.r.choice(["{0} * {1}", "{1} - {0}", "{0} + {1}"]), [e(), self.fexpr(ctx, d)], tag="tensor")),
            (1, lambda: self.form("{0} / ({1} * {1} + 1.0)", [e(), e()], tag="tensor", ty=t, fallback="{0} / (1.5 + sin({1}))")),
            (1, lambda: Expr(t, "-{0}", [e()], tag="tensor")),
            (4 * el, lambda: self.form(["sin({0})", "cos({0})", "tanh({0})", "sigmoid({0})", "exp(tanh({0}))",
                                        "log({0} * {0} + 1.0)", "sqrt({0} * {0} + 0.5)", "atan({0})"],
                                       [e()], tag="tensor,elem", ty=t)),
            (2 * pw, lambda: self.form(["{0} ** 2", "{0} ** 2.0", "({0} * {0} + 0.5) ** 1.5", "{0} ** 3",
                                        "(1.5 + sin({0})) ** 0.5"], [e()], tag="tensor,pow", ty=t)),
            (2 * ns, lambda: self.form(["abs({0})", "relu({0})", "maximum({0}, {1})", "minimum({0}, {1})",
                                        "where({0} > 0.0, {0}, {1})", "where({0} > {1}, sin({0}), cos({1}))",
                                        "clip({0}, -0.5, 0.5)"],
                                       [e(), e()], tag="tensor,nonsmooth", ty=t)),
            (1 * self.has("stopgrad"), lambda: Expr(t, "stop_gradient({0})", [e()], tag="tensor,stopgrad")),
        ]
        if one:
            n = shape[0]
            k = 3 if n == 2 else 2
            opts += [
                (2, lambda: Expr(t, "{0} @ {1}", [self.texpr(ctx, (n, k), d), self.texpr(ctx, (k,), d)], tag="tensor")),
                (1, lambda: Expr(t, "{0} @ {1}", [self.texpr(ctx, (k,), d), self.texpr(ctx, (k, n), d)], tag="tensor")),
                (2, lambda: Expr(t, self.r.choice(["sum({0}, %d)", "mean({0}, %d)"]) % (0 if n == 3 else 1),
                                 [self.texpr(ctx, (2, 3), d)], tag="tensor")),
                (1 * ns, lambda: Expr(t, self.r.choice(["max({0}, %d)", "min({0}, %d)"]) % (0 if n == 3 else 1),
                                      [self.texpr(ctx, (2, 3), d)], tag="tensor,nonsmooth")),
                (2, lambda: Expr(t, f"{{0}}[{self.r.randrange(2)}]" if n == 3 else f"{{0}}[:, {self.r.randrange(3)}]",
                                 [self.texpr(ctx, (2, 3), d)], tag="tensor")),
                (2, lambda: Expr(t, "{0}[1:]", [self.texpr(ctx, (n + 1,), d)], tag="tensor")),
                (1, lambda: Expr(t, "{0}[%d:%d]" % ((2, 2 + n) if n == 3 else (1, 3)), [self.texpr(ctx, (6,), d)], tag="tensor")),
                (2, lambda: Expr(t, "concat([{0}, {1}], 0)", [self.texpr(ctx, (n - 1,), d), self.texpr(ctx, (1,), d)]
                                 if self.chance(0.5) else [self.texpr(ctx, (1,), d), self.texpr(ctx, (n - 1,), d)], tag="tensor")),
                (1 * el, lambda: Expr(t, "softmax({0})", [e()], tag="tensor,elem")),
            ]
        else:
            r, c = shape
            opts += [
                (2, lambda: Expr(t, "outer({0}, {1})", [self.texpr(ctx, (r,), d), self.texpr(ctx, (c,), d)], tag="tensor")),
                (2, lambda: Expr(t, "{0} + {1}", [e(), self.texpr(ctx, (c,), d)], tag="tensor")),      # a row broadcast
                (1, lambda: Expr(t, "{0} * reshape({1}, [%d, 1])" % r, [e(), self.texpr(ctx, (r,), d)], tag="tensor")),
                (1, lambda: Expr(t, "stack([{0}, {1}], 0)", [self.texpr(ctx, (c,), d), self.texpr(ctx, (c,), d)], tag="tensor")
                 if r == 2 else None),
                (1, lambda: Expr(t, "reshape(concat([{0}, {1}], 0), [%d, %d])" % (r, c),
                                 [self.texpr(ctx, (3,), d), self.texpr(ctx, (3,), d)], tag="tensor") if r * c == 6 else None),
                (1, lambda: Expr(t, "transpose({0})", [self.texpr(ctx, (c, r), d)], tag="tensor")),
                (1, lambda: Expr(t, "{0} @ {1}", [e(), Expr(TensorT((c, c)), "eye(%d) * {0}" % c, [self.fleaf(ctx)])],
                                 tag="tensor")),
            ]
        return self.pick(opts) or self.tleaf(ctx, shape)

    def tsecondary(self, ctx, shape, depth) -> Expr:
        """Tensors of the shapes only recipes need: (1,), (4,), (6,), (3, 2)."""
        t = TensorT(shape)
        d = max(depth - 1, 0)
        if shape == (1,):
            return self.r.choice([lambda: Expr(t, "{0}[0:1]", [self.texpr(ctx, (2,), d)], tag="tensor"),
                                  lambda: Expr(t, "{0}[2:]", [self.texpr(ctx, (3,), d)], tag="tensor"),
                                  lambda: Expr(t, "tensor([{0}])", [self.fexpr(ctx, d)], tag="tensor")])()
        if shape == (4,):
            return Expr(t, "concat([{0}, {1}], 0)", [self.texpr(ctx, (2,), d), self.texpr(ctx, (2,), d)], tag="tensor")
        if shape == (6,):
            return Expr(t, "reshape({0}, [6])", [self.texpr(ctx, (2, 3), d)], tag="tensor")
        if shape == (3, 2):
            return Expr(t, "transpose({0})", [self.texpr(ctx, (2, 3), d)], tag="tensor")
        return Expr(t, f"full({shape_dp(shape)}, {{0}})", [self.fleaf(ctx)], tag="tensor")


def generate(seed: int, features=ALL_FEATURES) -> Program:
    """The program for one seed: the same seed and features give the same program."""
    return Gen(seed, features).program()
