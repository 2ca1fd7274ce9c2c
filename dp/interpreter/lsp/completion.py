"""Completion and signature help: what may be written at the cursor, with types.

Words: the locals in scope there, the globals, types, modules, builtins and keywords.
After a `.`: a module's members, an enum's variants, or, for any other expression
before the dot (typed by the checker in the scope of the cursor), a struct's fields,
a list's or dict's methods, a tuple's items."""
from __future__ import annotations

import re
from dataclasses import dataclass

from dp.dsl.checker import DICT_METHODS, LIST_METHODS, PRIM_TYPES
from dp.dsl.types import DictT, EnumT, FnT, ListT, SetT, StructT, TupleT

from .describe import SPECIAL, builtin_doc, builtin_signatures, user_builtins
from .index import scope_at

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_CLOSERS = {")": "(", "]": "["}

KEYWORDS = ["let", "var", "fn", "struct", "enum", "if", "else", "while", "for", "in", "match", "return",
            "break", "continue", "true", "false", "inf", "nan", "import", "derivative"]


@dataclass
class Item:
    label: str
    kind: str            # variable, function, field, method, module, struct, enum, variant, keyword, type
    detail: str = ""     # the type
    doc: str = ""


def list_method_types(t: ListT) -> dict[str, str]:
    e = t.elem
    return {"append": f"fn({e}) -> ()", "pop": f"fn() -> {e}", "insert": f"fn(int, {e}) -> ()",
            "extend": f"fn({t}) -> ()", "reverse": "fn() -> ()"}


def dict_method_types(t: DictT) -> dict[str, str]:
    return {"keys": f"fn() -> list[{t.key}]", "values": f"fn() -> list[{t.value}]",
            "items": f"fn() -> list[({t.key}, {t.value})]",
            "contains": f"fn({t.key}) -> bool", "get": f"fn({t.key}, {t.value}) -> {t.value}",
            "remove": f"fn({t.key}) -> ()"}


def set_method_types(t: SetT) -> dict[str, str]:
    e = t.elem
    return {"add": f"fn({e}) -> ()", "remove": f"fn({e}) -> ()", "contains": f"fn({e}) -> bool",
            "union": f"fn({t}) -> {t}", "intersection": f"fn({t}) -> {t}", "difference": f"fn({t}) -> {t}",
            "to_list": f"fn() -> list[{e}]"}


def expression_before(text: str) -> str:
    """The postfix expression that ends text (`p.pos` in `print(p.pos`): names, dots,
    tuple indices and balanced calls or indexing."""
    i = len(text)
    while i > 0:
        c = text[i - 1]
        if c.isalnum() or c in "_.":
            i -= 1
        elif c in _CLOSERS:
            depth, j = 0, i - 1
            while j >= 0:
                if text[j] in _CLOSERS:
                    depth += 1
                elif text[j] in "([":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            if j < 0:
                break
            i = j
        else:
            break
    return text[i:].lstrip(".")


def _public(name: str) -> bool:
    return "__" not in name and not name.startswith("<")


def complete(analysis, line: int, col: int, before: str) -> tuple[str, list[Item]]:
    """(the word being completed, its candidates) at DP position (line, col), where
    before is the document's text up to the cursor. analysis is the last version of the
    document that parsed (its positions may be a few edits old)."""
    w = _WORD.search(before)
    word = w.group() if w else ""
    head = before[:len(before) - len(word)]
    if head.endswith(".") and not head.endswith(".."):
        obj = expression_before(head[:-1])
        if not obj or obj[0].isdigit():
            return word, []
        return word, [i for i in members(analysis, obj, line, col) if i.label.startswith(word)]
    if re.search(r"(^|[^A-Za-z0-9_])import\s+$", head.rsplit("\n", 1)[-1]):
        from dp.interpreter.modules import stdlib_names
        return word, [Item(m, "module", "standard library") for m in stdlib_names() if m.startswith(word)]
    return word, [i for i in words(analysis, line, col) if i.label.startswith(word) and i.label != word]


def words(analysis, line: int, col: int) -> list[Item]:
    out: dict[str, Item] = {}
    env = analysis.env
    if analysis.prog is not None:
        for name, sym in scope_at(analysis.prog, line, col).items():
            out[name] = Item(name, "variable" if not isinstance(sym.ty, FnT) else "function", str(sym.ty))
    if env is not None:
        for name, sym in env.values.items():
            if _public(name) and name not in out:
                out[name] = Item(name, "function" if sym.kind == "fn" else "variable", str(sym.ty))
        for name, t in env.structs.items():
            if _public(name) and "." not in name:
                out.setdefault(name, Item(name, "struct", "struct " + name))
        for name, t in env.enums.items():
            if _public(name) and "." not in name:
                out.setdefault(name, Item(name, "enum", "enum " + name))
        for name in env.modules:
            out.setdefault(name, Item(name, "module", "module " + name))
    for name in user_builtins():
        out.setdefault(name, Item(name, "function", "  ·  ".join(builtin_signatures(name)[:3]), builtin_doc(name)))
    for name in sorted(set(PRIM_TYPES) | {"list", "dict"}):
        out.setdefault(name, Item(name, "type", "type"))
    for k in KEYWORDS:
        out.setdefault(k, Item(k, "keyword"))
    return list(out.values())


def members(analysis, obj: str, line: int, col: int) -> list[Item]:
    env = analysis.env
    if env is None:
        return []
    scope = scope_at(analysis.prog, line, col) if analysis.prog is not None else {}
    if re.fullmatch(r"[A-Za-z_]\w*", obj) and obj not in scope and obj not in env.values:
        if obj in env.enums:
            return enum_items(env.enums[obj])
        if obj in env.modules:
            mod = env.modules[obj]
            items = [Item(n, "function" if s.kind == "fn" else "variable", str(s.ty)) for n, s in mod.values.items()]
            items += [Item(n, "struct", "struct " + n) for n in mod.structs]
            items += [Item(n, "enum", "enum " + n) for n in mod.enums]
            return sorted(items, key=lambda i: i.label)
    m = re.fullmatch(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*)", obj)
    if m and m.group(1) in env.modules and m.group(1) not in scope:
        et = env.enums.get(obj)                                 # geom.Color
        if et is not None:
            return enum_items(et)
    t = analysis.analyzer.check_expression(analysis, obj, scope)
    return type_members(t)


def enum_items(et: EnumT) -> list[Item]:
    return [Item(v, "variant", f"{et.name}.{v}" + (f"({', '.join(map(str, p))})" if p else "")) for v, p in
            et.variants.items()]


def type_members(t) -> list[Item]:
    if isinstance(t, StructT):
        return [Item(n, "field", str(ft)) for n, ft in t.fields.items()]
    if isinstance(t, ListT):
        return [Item(n, "method", sig) for n, sig in sorted(list_method_types(t).items())]
    if isinstance(t, DictT):
        return [Item(n, "method", sig) for n, sig in sorted(dict_method_types(t).items())]
    if isinstance(t, SetT):
        return [Item(n, "method", sig) for n, sig in sorted(set_method_types(t).items())]
    if isinstance(t, TupleT):
        return [Item(str(i), "field", str(it)) for i, it in enumerate(t.items)]
    return []


# ---------------------------------------------------------------------- signature help

@dataclass
class Signature:
    label: str                      # `fn step(p: Particle, dt: float) -> Particle`
    params: list[str]               # each parameter's text, as it appears in the label
    doc: str = ""


def open_call(before: str) -> tuple[str, int] | None:
    """(the callee's text, which argument the cursor is in) when the cursor is inside
    the parentheses of a call."""
    depth, commas, i = 0, 0, len(before) - 1
    in_string = False
    while i >= 0:
        c = before[i]
        if c == '"' and (i == 0 or before[i - 1] != "\\"):
            in_string = not in_string
        elif in_string:
            pass
        elif c in ")]}":
            depth += 1
        elif c in "[{":
            if depth == 0:
                return None
            depth -= 1
        elif c == "(":
            if depth == 0:
                callee = expression_before(before[:i])
                return (callee, commas) if callee and not callee[0].isdigit() else None
            depth -= 1
        elif c == "," and depth == 0:
            commas += 1
        elif c == "\n" and depth == 0 and before[max(0, i - 1)] in "{}":
            return None
        i -= 1
    return None


def signatures(analysis, callee: str, line: int, col: int) -> list[Signature]:
    env = analysis.env
    if env is None:
        return []
    scope = scope_at(analysis.prog, line, col) if analysis.prog is not None else {}
    if re.fullmatch(r"[A-Za-z_]\w*", callee) and callee not in scope and callee not in env.values:
        sigs = builtin_signatures(callee)
        if callee in SPECIAL:
            return [Signature(s, _param_texts(s), builtin_doc(callee)) for s in sigs]
        return [Signature(s, _param_texts(s), builtin_doc(callee)) for s in sigs]
    fn = None
    if re.fullmatch(r"[A-Za-z_]\w*", callee):
        sym = scope.get(callee) or env.values.get(callee)
        if sym is not None and sym.kind == "fn":
            fn = sym.decl
    m = re.fullmatch(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*)", callee)
    if m and m.group(1) in env.modules and m.group(1) not in scope:
        sym = env.modules[m.group(1)].values.get(m.group(2))
        fn = sym.decl if sym is not None and sym.kind == "fn" else None
    if m and fn is None:                                # a method: xs.append(
        t = analysis.analyzer.check_expression(analysis, m.group(1), scope)
        methods = list_method_types(t) if isinstance(t, ListT) else dict_method_types(t) if isinstance(t, DictT) \
            else set_method_types(t) if isinstance(t, SetT) else {}
        if m.group(2) in methods:
            ft = methods[m.group(2)]
            inner = ft[3:ft.index(")")]
            params = [p.strip() for p in inner.split(",") if p.strip()]
            label = f"{m.group(2)}({', '.join(params)}) -> {ft.rsplit('-> ', 1)[1]}"
            return [Signature(label, params)]
    from dp.dsl import syntax as S
    if isinstance(fn, S.FnDef):
        from .describe import fn_signature
        label = fn_signature(callee, fn, fn.ty)
        return [Signature(label, _param_texts(label))]
    t = analysis.analyzer.check_expression(analysis, callee, scope)
    if isinstance(t, FnT):
        params = [str(p) for p in t.params]
        return [Signature(f"{callee}({', '.join(params)}) -> {t.ret}", params)]
    return []


def _param_texts(label: str) -> list[str]:
    """The parameters of a signature's first parenthesised list, split at top-level commas."""
    start = label.find("(")
    if start < 0:
        return []
    depth, cur, out = 0, "", []
    for c in label[start + 1:]:
        if c in "([" and True:
            depth += 1
        elif c in ")]":
            if depth == 0:
                break
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out
