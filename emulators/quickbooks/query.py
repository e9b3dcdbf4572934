"""The QBO query language: parse once into a ``Query``, then filter, order and page records.

Grammar (keywords case-insensitive)::

    SELECT * | count(*) | field[, field...] FROM Entity
      [WHERE cond [AND cond ...]] [ORDERBY field [ASC|DESC][, ...]]
      [STARTPOSITION n] [MAXRESULTS m]
    cond := field (= | < | > | <= | >=) literal | field IN (literal, ...) | field LIKE 'pattern'

There is no OR (QBO refuses it), strings are single-quoted with ``\\'`` escapes, and ``%`` is the only
LIKE wildcard. String comparisons ignore case, as QBO's do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from emulators.quickbooks import faults, queryable
from emulators.quickbooks.clock import parse_instant

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100
TIME_FIELDS = {"metadata.createtime": "created", "metadata.lastupdatedtime": "updated"}
# A field naming an object compares on the object's natural scalar.
SCALAR_OF_OBJECT = ("Address", "value", "FreeFormNumber", "URI")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][\w.]*)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    col: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= IN LIKE
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] = field(default_factory=list)  # empty = all
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS

    def mentions_active(self) -> bool:
        return any(c.field.lower() == "active" for c in self.conditions)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        kind = m.lastgroup or "bad"
        value = m.group(kind)
        if kind == "bad":
            if value == "'":
                raise faults.query_parser(
                    f"Lexical error at line 1, column {m.start(kind) + 1}. Unterminated string."
                )
            raise faults.query_parser(
                f'Lexical error at line 1, column {m.start(kind) + 1}. Encountered: "{value}"'
            )
        tokens.append(Token(kind, value, m.start(kind) + 1))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise faults.query_parser('Encountered "<EOF>" at line 1. Was expecting more input.')
        self.i += 1
        return tok

    def fail(self, tok: Token | None, expecting: str) -> faults.QboError:
        if tok is None:
            return faults.query_parser(f'Encountered "<EOF>" at line 1.\nWas expecting: {expecting}')
        return faults.query_parser(
            f'Encountered " "{tok.text}" "{tok.text} "" at line 1, column {tok.col}.\nWas expecting: {expecting}'
        )

    def keyword(self, *words: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != "word" or tok.upper not in words:
            raise self.fail(tok, " | ".join(words))
        self.i += 1
        return tok

    def punct(self, char: str) -> None:
        tok = self.peek()
        if tok is None or tok.text != char:
            raise self.fail(tok, f'"{char}"')
        self.i += 1

    def identifier(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "word" or tok.upper in _RESERVED:
            raise self.fail(tok, "<IDENTIFIER>")
        self.i += 1
        return tok.text

    def literal(self) -> Any:
        tok = self.next()
        if tok.kind == "string":
            return _unescape(tok.text[1:-1])
        if tok.kind == "number":
            return Decimal(tok.text)
        if tok.kind == "word" and tok.upper in ("TRUE", "FALSE"):
            return tok.upper == "TRUE"
        raise self.fail(tok, "<STRING> | <NUMBER> | true | false")

    def parse(self) -> Query:
        self.keyword("SELECT")
        count = False
        fields: list[str] = []
        tok = self.peek()
        if tok is not None and tok.text == "*":
            self.i += 1
        elif tok is not None and tok.kind == "word" and tok.upper == "COUNT":
            self.i += 1
            self.punct("(")
            self.punct("*")
            self.punct(")")
            count = True
        else:
            fields.append(self.identifier())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                fields.append(self.identifier())
        self.keyword("FROM")
        query = Query(entity=self.identifier(), count=count, fields=fields)
        tok = self.peek()
        if tok is not None and tok.upper == "WHERE":
            self.i += 1
            query.conditions.append(self.condition())
            while (tok := self.peek()) is not None and tok.kind == "word" and tok.upper in ("AND", "OR"):
                if tok.upper == "OR":
                    raise self.fail(tok, '"AND" | "ORDERBY" | "STARTPOSITION" | "MAXRESULTS" | <EOF>')
                self.i += 1
                query.conditions.append(self.condition())
        tok = self.peek()
        if tok is not None and tok.upper in ("ORDERBY", "ORDER"):
            self.i += 1
            if tok.upper == "ORDER":
                self.keyword("BY")
            query.order.append(self.order_item())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                query.order.append(self.order_item())
        seen: set[str] = set()
        while (
            (tok := self.peek()) is not None
            and tok.upper in ("STARTPOSITION", "MAXRESULTS")
            and tok.upper not in seen
        ):
            self.i += 1
            seen.add(tok.upper)
            num = self.next()
            if num.kind != "number" or "." in num.text:
                raise self.fail(num, "<INTEGER>")
            if tok.upper == "STARTPOSITION":
                query.start = int(num.text)
            else:
                query.max_results = int(num.text)
        if (tok := self.peek()) is not None:
            raise self.fail(tok, "<EOF>")
        return query

    def condition(self) -> Condition:
        name = self.identifier()
        tok = self.next()
        if tok.kind == "op" and tok.text in ("=", "<", ">", "<=", ">="):
            return Condition(name, tok.text, [self.literal()])
        if tok.kind == "word" and tok.upper == "IN":
            self.punct("(")
            values = [self.literal()]
            while (nxt := self.next()).text == ",":
                values.append(self.literal())
            if nxt.text != ")":
                raise self.fail(nxt, '")"')
            return Condition(name, "IN", values)
        if tok.kind == "word" and tok.upper == "LIKE":
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise self.fail(tok, "<STRING>")
            return Condition(name, "LIKE", [pattern])
        raise self.fail(tok, '"=" | "<" | ">" | "<=" | ">=" | "IN" | "LIKE"')

    def order_item(self) -> tuple[str, bool]:
        name = self.identifier()
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.upper in ("ASC", "DESC"):
            self.i += 1
            return name, tok.upper == "DESC"
        return name, False


_RESERVED = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "ORDERBY",
    "ORDER",
    "STARTPOSITION",
    "MAXRESULTS",
    "IN",
    "LIKE",
}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse(text: str, known: dict[str, frozenset[str]]) -> Query:
    """Parse and validate: the entity (case-insensitive) must be known, WHERE may only name filterable
    properties and ORDERBY sortable ones (``queryable``), a SELECT list only the entity's properties.
    Property names are matched case-insensitively and stored as QBO spells them."""
    if not text or not text.strip():
        raise faults.query_parser('Encountered "<EOF>" at line 1, column 1.')
    query = _Parser(text).parse()
    canonical = {name.lower(): name for name in known}
    entity = canonical.get(query.entity.lower())
    if entity is None:
        raise faults.query_validation(f"invalid context declaration: {query.entity}")
    query.entity = entity
    for cond in query.conditions:
        cond.field = _allowed(queryable.FILTERABLE[entity], cond.field)
    query.order = [(_allowed(queryable.SORTABLE[entity], name), desc) for name, desc in query.order]
    props = frozenset(known[entity])
    query.fields = [_allowed(props, name.split(".")[0]) for name in query.fields]
    if query.max_results > MAX_RESULTS:
        raise faults.query_validation(f"MAXRESULTS {query.max_results} exceeds the limit of {MAX_RESULTS}")
    if query.max_results < 1 or query.start < 1:
        raise faults.query_validation("STARTPOSITION and MAXRESULTS must be positive")
    return query


def _allowed(names: frozenset[str], name: str) -> str:
    found = queryable.canonical(names, name)
    if found is None:
        raise faults.query_validation(f"property '{name}' is not queryable")
    return found


# ---------------------------------------------------------------- evaluation


def resolve(body: dict[str, Any], record: Any, path: str) -> Any:
    """The scalar a (dotted) field names on an entity; MetaData times come as unix seconds."""
    attr = TIME_FIELDS.get(path.lower())
    if attr is not None:
        return getattr(record, attr)
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict):
        for key in SCALAR_OF_OBJECT:
            if key in value:
                return value[key]
        return None
    if value is None and path == "Active":
        return True
    return value


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _comparable(path: str, value: Any, literal: Any) -> tuple[Any, Any] | None:
    """Bring a field value and a literal to one comparable type, or None when they cannot meet."""
    if value is None:
        return None
    if path.lower() in TIME_FIELDS:
        try:
            instant = literal if isinstance(literal, float) else parse_instant(str(literal))
        except ValueError:
            return None
        return float(value), instant
    if isinstance(value, bool):
        if isinstance(literal, str):
            literal = literal.lower() == "true"
        return value, bool(literal)
    if isinstance(value, int | float):
        num = _number(literal)
        return (Decimal(str(value)), num) if num is not None else None
    text = str(value)
    lit = str(literal)
    if text.isdigit() and lit.isdigit():
        return int(text), int(lit)
    return text.casefold(), lit.casefold()


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.IGNORECASE | re.DOTALL
    )


def predicate(cond: Condition) -> Callable[[dict[str, Any], Any], bool]:
    path, op, values = cond.field, cond.op, cond.values
    if op == "LIKE":
        rx = _like(str(values[0]))

        def like(body: dict[str, Any], record: Any) -> bool:
            value = resolve(body, record, path)
            return value is not None and rx.match(str(value)) is not None

        return like
    if op == "IN":

        def within(body: dict[str, Any], record: Any) -> bool:
            value = resolve(body, record, path)
            for lit in values:
                pair = _comparable(path, value, lit)
                if pair is not None and pair[0] == pair[1]:
                    return True
            return False

        return within
    if path.lower() in TIME_FIELDS and values and isinstance(values[0], str):
        try:
            values = [parse_instant(values[0])]
        except ValueError as exc:
            raise faults.query_validation(f"invalid date-time value for {path}") from exc
    compare = _OPS[op]
    lit = values[0]

    def check(body: dict[str, Any], record: Any) -> bool:
        pair = _comparable(path, resolve(body, record, path), lit)
        if pair is None:
            return False
        try:
            return compare(pair[0], pair[1])
        except TypeError:
            return False

    return check


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _sort_key(path: str) -> Callable[[Any], tuple[int, Any]]:
    def key(record: Any) -> tuple[int, Any]:
        value = resolve(record.body, record, path)
        if value is None:
            return (2, "")
        if isinstance(value, bool):
            return (0, int(value))
        if isinstance(value, int | float):
            return (0, value)
        text = str(value)
        if text.isdigit():
            return (0, int(text))
        return (1, text.casefold())

    return key


def run(query: Query, records: Iterable[Any], hide_inactive: bool) -> tuple[list[Any], int]:
    """Records (objects with ``body``, ``created``, ``updated``) matching the query: (page, total)."""
    tests = [predicate(c) for c in query.conditions]
    if hide_inactive and not query.mentions_active():
        tests.append(lambda body, record: body.get("Active", True) is not False)
    matched = [r for r in records if all(t(r.body, r) for t in tests)]
    for path, descending in reversed(query.order):
        matched.sort(key=_sort_key(path), reverse=descending)
    total = len(matched)
    if query.count:
        return [], total
    return matched[query.start - 1 : query.start - 1 + query.max_results], total


def project(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The selected top-level properties of an entity (QBO marks such answers sparse)."""
    out = {"domain": body.get("domain", "QBO"), "sparse": True, "Id": body.get("Id")}
    for name in fields:
        top = name.split(".")[0]
        if top in body:
            out[top] = body[top]
    return out
