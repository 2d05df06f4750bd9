#!/usr/bin/env python3
"""The file-level import graph of src/, checked against the layers of docs/architecture.md.

Reads every non-test source file's `use` lines and `crate::`/`super::` paths, resolves each to
the file that defines the module, and reports:
  - loops: files that import each other, directly or around a circle;
  - upward imports: a file of a lower layer importing a module of a higher one.
Exit status 1 when there is either. `--edges` prints every arrow; `--dot` a Graphviz graph.

    python3 scripts/import_graph.py            # check (tests/layers.rs runs this)
    python3 scripts/import_graph.py --dot | dot -Tsvg > /tmp/imports.svg
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Bottom to top. A module may import from its own layer (without loops) and the ones below.
LAYERS = [
    ("pure logic", ["clock", "backoff", "pace", "proxy_load", "files", "outbound", "classify", "token", "catalog", "config", "har", "evidence"]),
    ("telemetry", ["telemetry"]),
    ("state", ["store"]),
    ("application", ["tunnels", "revocation", "identity", "app", "config_change"]),
    ("edges", ["proxy", "admin", "reload", "server", "cli", "demo", "fuzzing", "lib", "main"]),
]
RANK = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}


def read_sources():
    files = {}
    for d, _, names in os.walk(ROOT):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.normpath(os.path.join(d, n))
                files[p] = open(p, encoding="utf-8").read()
    return files


FILES = read_sources()


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    return rel[:-1] if rel[-1] in ("mod", "lib", "main") else rel


def file_of(mod):
    base = os.path.join(ROOT, *mod)
    candidates = [base + ".rs", os.path.join(base, "mod.rs")] if mod else [os.path.join(ROOT, "lib.rs")]
    for c in candidates:
        c = os.path.normpath(c)
        if c in FILES:
            return c
    return None


def is_test_file(path):
    return path.endswith("_tests.rs") or path.endswith(os.sep + "tests.rs") or (os.sep + "tests" + os.sep) in path


def code_of(text):
    """The text without comments and without its `#[cfg(test)] mod tests { … }` block."""
    i = text.find("#[cfg(test)]\nmod tests {")
    text = text if i < 0 else text[:i]
    return re.sub(r"//[^\n]*", "", text)


def resolve(cur, segs):
    """The file of the longest prefix of `segs` that names a module, seen from `cur`."""
    own = module_of(cur)
    if segs[0] == "crate":
        mod, segs = [], segs[1:]
    elif segs[0] == "super":
        mod = own
        while segs and segs[0] == "super":
            mod, segs = mod[:-1], segs[1:]
    elif segs[0] == "self":
        mod, segs = own, segs[1:]
    else:
        return None
    best = file_of(mod)
    for s in segs:
        if not file_of(mod + [s]):
            break
        mod = mod + [s]
        best = file_of(mod)
    return best


USE = re.compile(r"\buse\s+((?:crate|super|self)(?:::\w+)*)(?:::\{([^;]*)\})?", re.S)
PATH = re.compile(r"(?<![:\w])((?:crate|super)(?:::\w+)+)")


def edges():
    out = {}
    for path, text in FILES.items():
        if is_test_file(path):
            continue
        code, targets = code_of(text), set()
        for m in USE.finditer(code):
            base = m.group(1).split("::")
            items = [i.strip().split(" as ")[0] for i in (m.group(2) or "").split(",")] if m.group(2) else [""]
            for item in items:
                segs = base + [x for x in item.split("::") if re.match(r"^\w+$", x)]
                r = resolve(path, segs)
                if r:
                    targets.add(r)
        for m in PATH.finditer(code):
            r = resolve(path, m.group(1).split("::"))
            if r:
                targets.add(r)
        targets.discard(path)
        out[path] = targets
    return out


def loops(graph):
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop(); on.discard(x); comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
            elif w in graph and w not in index:
                index[w] = low[w] = counter[0]; counter[0] += 1
                stack.append(w); on.add(w)
                work.append((w, iter(sorted(graph[w]))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return found


def top_module(path):
    mod = module_of(path)
    return mod[0] if mod else os.path.basename(path)[:-3]


def rel(p):
    return os.path.relpath(p, os.path.join(ROOT, ".."))


def main():
    graph = edges()
    if "--dot" in sys.argv:
        print("digraph imports {\n  rankdir=BT;")
        for a in sorted(graph):
            for b in sorted(graph[a]):
                print(f'  "{rel(a)}" -> "{rel(b)}";')
        print("}")
        return 0
    if "--edges" in sys.argv:
        for a in sorted(graph):
            print(rel(a), "->", ", ".join(rel(b) for b in sorted(graph[a])) or "-")
    problems = 0
    for comp in loops(graph):
        problems += 1
        print("loop:", " <-> ".join(rel(p) for p in comp))
    for a in sorted(graph):
        for b in sorted(graph[a]):
            ma, mb = top_module(a), top_module(b)
            if ma not in RANK or mb not in RANK:
                problems += 1
                print(f"no layer for {ma if ma not in RANK else mb} (add it to LAYERS)")
            elif RANK[ma] < RANK[mb]:
                problems += 1
                print(f"upward: {rel(a)} ({LAYERS[RANK[ma]][0]}) imports {rel(b)} ({LAYERS[RANK[mb]][0]})")
    n_edges = sum(len(t) for t in graph.values())
    print(f"{len(graph)} files, {n_edges} imports, {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
