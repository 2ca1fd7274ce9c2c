"""The derive stage, between check and compile: every `grad(f)`, `jvp(f, …)`, … of a
checked program whose function is known now gets the derived function it names
(Transforms.resolve). Inner calls come first, so `grad(grad(f))` differentiates the
derivative made for `grad(f)`. The checker typed these calls and derived nothing;
`dp check` stops before this stage."""
from __future__ import annotations

from .. import syntax as S


def transform_calls(nodes) -> list[S.Call]:
    """The transform calls in the trees, each after the calls inside it and after the
    calls of earlier statements (post-order, without recursion: programs nest deep)."""
    out, todo = [], [(n, False) for n in reversed(nodes)]
    while todo:
        node, done = todo.pop()
        if done:
            if isinstance(node, S.Call) and node.target and node.target[0] == "transform":
                out.append(node)
            continue
        todo.append((node, True))
        todo.extend((c, False) for c in reversed(S.children(node)))
    return out


def derive_program(tx, body: list[S.Stmt], env) -> None:
    """Derive what the transform calls in a checked program's statements name, checking
    derived code against env (the program's globals)."""
    saved, tx.current_env = tx.current_env, env
    try:
        for call in transform_calls(body):
            tx.resolve(call)
    finally:
        tx.current_env = saved
