"""A role template rendered once per shape, then filled in on each call (issue #12).

Rendering a role's template through jinja costs more than the rest of building a request. The values
that change from call to call (project name and request, upstream artifacts, feedback, extra
instructions, the plan) are only ever printed verbatim or tested for emptiness by the templates, so a
template is rendered once per *shape* (role, round, which values are empty, how many inputs and feedback
items, each input's non-text fields) with a placeholder in place of each value; each call fills its
values in. Values are NUL-free (the builder strips NULs) and every placeholder holds a NUL, so no value
can forge a placeholder or a section mark. The builder keeps each shape's skeleton for the life of the
process, like the templates themselves (read once each).

``fillable`` checks that from the templates' syntax trees: a template that does anything else with a
value (a filter, a comparison, ``set``, a macro, a name it does not know) is not filled in; the builder
renders it with jinja on every call instead. Both give the same bytes (tests/unit/test_prompt_skeleton.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..records import Artifact

if TYPE_CHECKING:
    import jinja2
    import jinja2.nodes

# What a template may read, by how it may use it.
SCALARS = ("project_name", "request", "extra_instructions", "plan_json")  # text: printed or truth-tested
LISTS = {"inputs": "artifact", "feedback": "text"}  # iterated (``for x in ...``) or truth-tested
FREE = frozenset({"role", "round", "section_mark", "loop"})  # part of the shape: used in any way
TEXT_FIELDS = tuple(n for n, f in Artifact.model_fields.items() if f.annotation is str)
OTHER_FIELDS = tuple(n for n in Artifact.model_fields if n not in TEXT_FIELDS)  # in the shape key

_HOLE = re.compile("\x00hole([0-9]+)\x00")
Sections = dict[str, str]


def hole(n: int) -> str:
    """The placeholder of the n-th value (holds NULs: no value can contain it)."""
    return f"\x00hole{n}\x00"


# --- which templates can be filled in ------------------------------------------------------------


def _verbatim(node: Any, parent: Any) -> bool:
    """Printed as is (``{{ x }}``) or tested for truth (``{% if x %}``)."""
    from jinja2 import nodes

    return isinstance(parent, nodes.Output) or (isinstance(parent, nodes.If) and parent.test is node)


def _uses_ok(node: Any, parent: Any, loops: dict[str, str]) -> bool:
    from jinja2 import nodes

    if (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and loops.get(node.node.name) == "artifact"
    ):
        return _verbatim(node, parent) if node.attr in TEXT_FIELDS else node.attr in OTHER_FIELDS
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "loop":
        return node.attr not in ("previtem", "nextitem")  # a value outside its loop variable's checks
    if isinstance(node, nodes.Name) and node.ctx == "load":
        name = node.name
        if name in FREE:
            return True
        if name in SCALARS or loops.get(name) == "text":
            return _verbatim(node, parent)
        if name in LISTS:  # a list printed whole shows its items' reprs: holes escaped, not filled
            return (isinstance(parent, nodes.If) and parent.test is node) or (
                isinstance(parent, nodes.For) and parent.iter is node
            )
        return False  # an input used whole, or a name this module does not know (set, macro, self...)
    return all(_uses_ok(child, node, loops) for child in node.iter_child_nodes())


def fillable(parse: Callable[[str], jinja2.nodes.Template], name: str) -> bool:
    """Whether template ``name`` and every template it extends or includes use the per-call values
    only verbatim or as truth tests (see the module docstring). ``parse``: a template's syntax tree."""
    from jinja2 import nodes

    trees, seen, todo = [], set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        tree = parse(current)
        # imports; filter and autoescape blocks (they transform the printed values, not the holes)
        changes = (nodes.Import, nodes.FromImport, nodes.FilterBlock, nodes.EvalContextModifier)
        if any(True for _ in tree.find_all(changes)):
            return False
        refs: list[Any] = [*tree.find_all(nodes.Extends), *tree.find_all(nodes.Include)]
        for ref in refs:
            if not isinstance(ref.template, nodes.Const) or not isinstance(ref.template.value, str):
                return False
            if getattr(ref, "ignore_missing", False):  # ``ignore missing``: rendered in full, as it may be
                return False
            todo.append(ref.template.value)
        trees.append(tree)
    loops: dict[str, str] = {}
    for tree in trees:
        for loop in tree.find_all(nodes.For):
            if isinstance(loop.iter, nodes.Name) and loop.iter.name in LISTS:
                if not isinstance(loop.target, nodes.Name) or loop.test is not None or loop.recursive:
                    return False
                kind = LISTS[loop.iter.name]
                if loops.setdefault(loop.target.name, kind) != kind:
                    return False
    if loops.keys() & {*SCALARS, *LISTS, *FREE}:
        return False
    return all(_uses_ok(tree, None, loops) for tree in trees)


# --- one shape's skeleton ------------------------------------------------------------------------


class Skeleton:
    """A template's sections with holes: each section a ``str.format`` pattern whose fields are the
    values' indexes (literal braces doubled), filled by ``fill``. ``fixed``: the sections without a
    hole (the same text on every call); ``made``: what the builder made of them once (frozen blocks)."""

    __slots__ = ("fixed", "made", "sections")

    def __init__(self, text: str, mark: str) -> None:
        self.sections: list[tuple[str, str, bool]] = []  # (name, pattern or finished text, has holes)
        self.made: dict[tuple[str, str | None], Any] = {}
        for chunk in text.split(mark)[1:]:
            name, _, body = chunk.partition(">>>")
            if "\x00" in name:  # a value in a section's name: the split would depend on the value
                raise ValueError("a section name holds a value")
            pieces = _HOLE.split(body)
            if any("\x00" in p for p in pieces[::2]):  # a hole the template changed (no value holds a NUL)
                raise ValueError("a hole was changed by the template")
            if len(pieces) == 1:
                self.sections.append((name.strip(), body.strip(), False))
                continue
            pattern = "".join(
                p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                for i, p in enumerate(pieces)
            )
            self.sections.append((name.strip(), pattern, True))
        with_holes = {name for name, _, holes in self.sections if holes}  # a name may recur: the last wins
        self.fixed = frozenset(name for name, _, _ in self.sections) - with_holes

    def fill(self, values: list[str]) -> Sections:
        """The sections with ``values`` in their holes, each stripped (as a full rendering is)."""
        return {name: body.format(*values).strip() if holes else body for name, body, holes in self.sections}


_text_of = attrgetter(*TEXT_FIELDS)
_other_of = attrgetter(*OTHER_FIELDS)


def shape_of(values: dict[str, Any]) -> tuple[list[str], tuple[Any, ...]] | None:
    """(the per-call values in hole order, the shape key without the role), or None when an input is
    not a plain ``Artifact`` (rendered in full instead)."""
    inputs = values["inputs"]
    feedback = values["feedback"]
    texts = [values[n] for n in SCALARS]
    texts += feedback
    others = []
    for a in inputs:
        if type(a) is not Artifact:
            return None
        texts += _text_of(a)
        others.append(_other_of(a))
    return texts, (values["round"], len(inputs), len(feedback), tuple(map(bool, texts)), tuple(others))


def placeholders(shape: tuple[Any, ...], role: Any) -> dict[str, Any]:
    """The variables a skeleton is rendered from: a hole for each non-empty value, "" for each empty
    one (so truth tests take the same branch), the real round, role and non-text input fields."""
    round_, _, n_feedback, nonempty, others = shape
    holes = iter([hole(i) if full else "" for i, full in enumerate(nonempty)])
    out: dict[str, Any] = {n: next(holes) for n in SCALARS}
    out["feedback"] = [next(holes) for _ in range(n_feedback)]
    out["inputs"] = []
    for fields in others:
        values = fields if len(OTHER_FIELDS) > 1 else (fields,)  # attrgetter of one name: the value
        artifact: dict[str, Any] = {f: next(holes) for f in TEXT_FIELDS}
        artifact.update(zip(OTHER_FIELDS, values, strict=True))
        out["inputs"].append(Artifact.model_construct(**artifact))
    out["round"] = round_
    out["role"] = role
    return out
