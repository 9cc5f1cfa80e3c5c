"""The slide-group rule language: boolean expressions over tags.

    stain = "H&E" AND (tissue = colon OR tissue IN (rectum, appendix)) AND NOT lab = "Lab B"
    indication != Normal        magnification IS SET        fixation IS NOT SET

`parse` turns text into a small tree of tuples; `compile_rule` turns the tree into a Django Q
over slides, resolving category keys and term names (or synonyms) through a callback, so the
grammar stays free of database code. Errors name the position and the problem.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "SET"}
MAX_DEPTH = 50  # nested NOTs and parentheses; deeper is refused, not a RecursionError
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*') |
        (?P<op>!=|=|\(|\)|,) |
        (?P<word>[^\s=!(),"']+)
    )""",
    re.VERBOSE,
)


class RuleError(ValueError):
    """The rule does not parse or names something unknown; the message says where."""


@dataclass(frozen=True)
class Token:
    kind: str  # "string", "op", "word", "end"
    text: str
    pos: int

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in KEYWORDS else None


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise RuleError(f"Unexpected character {text[pos:].lstrip()[:1]!r} at {pos + 1}.")
        kind = match.lastgroup
        value = match.group(kind)
        start = match.start(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(Token(kind, value, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleError(
                f"The rule is nested too deeply at {token.pos + 1} "
                f"(at most {MAX_DEPTH} levels of NOT and parentheses)."
            )

    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.current
        self.i += 1
        return token

    def expect_op(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != op:
            raise RuleError(f"Expected {op!r} at {token.pos + 1}, found {_show(token)}.")

    def parse(self):
        if self.current.kind == "end":
            raise RuleError("The rule is empty.")
        tree = self.parse_or()
        if self.current.kind != "end":
            raise RuleError(f"Unexpected {_show(self.current)} at {self.current.pos + 1}.")
        return tree

    def parse_or(self):
        items = [self.parse_and()]
        while self.current.keyword == "OR":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else ("or", items)

    def parse_and(self):
        items = [self.parse_not()]
        while self.current.keyword == "AND":
            self.take()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else ("and", items)

    def parse_not(self):
        if self.current.keyword == "NOT":
            self.nest(self.take())
            tree = ("not", self.parse_not())
            self.depth -= 1
            return tree
        return self.parse_atom()

    def parse_atom(self):
        token = self.current
        if token.kind == "op" and token.text == "(":
            self.nest(self.take())
            tree = self.parse_or()
            self.expect_op(")")
            self.depth -= 1
            return tree
        if token.kind != "word" or token.keyword:
            raise RuleError(f"Expected a category at {token.pos + 1}, found {_show(token)}.")
        category = self.take().text.lower()
        op = self.take()
        if op.kind == "op" and op.text in ("=", "!="):
            term = self.value()
            node = ("has", category, (term,))
            return ("not", node) if op.text == "!=" else node
        if op.keyword == "IN":
            self.expect_op("(")
            terms = [self.value()]
            while self.current.kind == "op" and self.current.text == ",":
                self.take()
                terms.append(self.value())
            self.expect_op(")")
            return ("has", category, tuple(terms))
        if op.keyword == "IS":
            negate = self.current.keyword == "NOT"
            if negate:
                self.take()
            if self.take().keyword != "SET":
                raise RuleError(f"Expected SET after IS at {op.pos + 1}.")
            node = ("set", category)
            return ("not", node) if negate else node
        raise RuleError(
            f"Expected =, !=, IN or IS after {category!r} at {op.pos + 1}, found {_show(op)}."
        )

    def value(self) -> str:
        token = self.take()
        if token.kind == "string" or (token.kind == "word" and not token.keyword):
            return token.text
        raise RuleError(f"Expected a term at {token.pos + 1}, found {_show(token)}.")


def _show(token: Token) -> str:
    return "the end of the rule" if token.kind == "end" else repr(token.text)


def parse(text: str):
    """The rule's tree: ("and"|"or", [trees]) | ("not", tree) | ("has", category, terms)
    | ("set", category). Raises RuleError."""
    return _Parser(text).parse()


# resolve(category_key, term_name or None) -> term ids (all of the category's for None)
Resolver = Callable[[str, str | None], list[int]]


def compile_rule(tree, resolve: Resolver, tag_model) -> Q:
    """A Q over slides for the tree; `tag_model` is SlideTag (passed in to keep this
    module free of model imports)."""

    def has(term_ids: list[int]) -> Q:
        return Q(Exists(tag_model.objects.filter(slide=OuterRef("pk"), term_id__in=term_ids)))

    def walk(node) -> Q:
        kind = node[0]
        if kind == "and":
            q = Q()
            for child in node[1]:
                q &= walk(child)
            return q
        if kind == "or":
            q = walk(node[1][0])
            for child in node[1][1:]:
                q |= walk(child)
            return q
        if kind == "not":
            return ~walk(node[1])
        if kind == "has":
            return has([tid for name in node[2] for tid in resolve(node[1], name)])
        return has(resolve(node[1], None))

    return walk(tree)
