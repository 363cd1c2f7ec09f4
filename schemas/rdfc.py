"""RDFC-1.0 canonical N-Quads of an expanded JSON-LD document, for the common case, fast.

pyld turns an expanded document into RDF through a node map (JSON-LD 1.1 API §7.2 "Node Map
Generation", then §8.6 "Object to RDF Conversion"), and canonicalizes the dataset with a
general RDFC-1.0 implementation; for a credential that is as much work as expanding it.
Here the expanded tree is walked once, writing each triple as N-Quads terms, and RDFC-1.0 is
run for the case that covers credentials: every blank node has a unique first-degree hash
(RDFC-1.0 §4.4.3 steps 5.x), so no N-degree hashing is needed.

`canonical_nquads` returns None whenever the document leaves that case — named graphs,
`@reverse`, `@included`, `@index`, blank-node datatypes, literals that pyld would turn into
extra triples, or two blank nodes with the same first-degree hash — and the caller then
runs pyld. Where it answers, the answer is pyld's byte for byte: the same triples (a node
map merges repeated nodes and drops repeated values, so the triples here are kept as a
set), literals converted by pyld's own `_object_to_rdf`, escaped by pyld's N-Quads escape,
and the same rules for skipping relative IRIs. tests/schemas/test_canonical_equivalence.py
checks it against plain pyld on every fixture.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Final

from pyld.nquads import escape

Literal = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
"""pyld's conversion of a value object to an RDF literal (`{"value", "datatype", ...}`)."""

Triple = tuple[str, str, str]

RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_TYPE: Final = f"<{RDF}type>"
_FIRST: Final = f"<{RDF}first>"
_REST: Final = f"<{RDF}rest>"
_NIL: Final = f"<{RDF}nil>"
_LANG_STRING: Final = f"{RDF}langString"
_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"
# Keys whose pyld handling is more than "one triple per value": left to pyld.
_UNSUPPORTED: Final = frozenset({"@reverse", "@graph", "@included", "@index"})


class _Unsupported(Exception):
    """The document uses a construct this module leaves to pyld."""


_ABSOLUTE_IRI: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")  # pyld's test


def _is_absolute(iri: str) -> bool:
    return _ABSOLUTE_IRI.match(iri) is not None


class _TripleWriter:
    """Walks an expanded document, collecting its triples as N-Quads term strings."""

    def __init__(self, literal: Literal) -> None:
        self._literal = literal
        self._labels: dict[str, str] = {}
        self._issued = 0
        # pyld's node map keeps one of two values of a property that it finds equal
        # (`compare_values`: same @value, @type, @language, @index); which one depends on
        # its traversal order, so equal values that make different literals are left to it.
        self._values: dict[tuple[str, str, Hashable], str] = {}
        self.triples: set[Triple] = set()

    def _blank(self, label: str | None) -> str:
        """A fresh blank node, or the one already given for a document label."""
        if label is not None and label in self._labels:
            return self._labels[label]
        self._issued += 1
        fresh = f"_:n{self._issued}"
        if label is not None:
            self._labels[label] = fresh
        return fresh

    def _reference(self, iri: str) -> str | None:
        """An @id or @type value as a term; None for a relative IRI (pyld skips those)."""
        if iri.startswith("_:"):
            return self._blank(iri)
        return f"<{iri}>" if _is_absolute(iri) else None

    def node(self, node: Mapping[str, Any]) -> str | None:
        """Write a node object's triples; its subject term, or None if it is relative."""
        if not _UNSUPPORTED.isdisjoint(node):
            raise _Unsupported
        identifier = node.get("@id")
        subject = self._blank(None) if identifier is None else self._reference(identifier)
        for kind in node.get("@type", ()):
            term = self._reference(kind)
            if subject is not None and term is not None:
                self.triples.add((subject, _TYPE, term))
        for name, values in node.items():
            if name.startswith("@"):
                continue
            # pyld: no triple for a relative subject or predicate, nor (without generalized
            # RDF) for a blank-node predicate; nested nodes are still flattened.
            emit = subject is not None and not name.startswith("_:") and _is_absolute(name)
            predicate = f"<{name}>"
            for value in values:
                term = self._object(value, emit)
                if emit and term is not None:
                    assert subject is not None
                    if "@value" in value:
                        self._check_distinct(subject, predicate, value, term)
                    self.triples.add((subject, predicate, term))
        return subject

    def _check_distinct(
        self, subject: str, predicate: str, value: Mapping[str, Any], term: str
    ) -> None:
        raw = value["@value"]
        if not isinstance(raw, (str, int, float)):  # bool is an int
            raise _Unsupported
        # pyld's equality: 1 equals 1.0, but True does not equal 1.
        key = (
            (type(raw) is bool, raw),
            value.get("@type"),
            value.get("@language"),
            value.get("@index"),
        )
        seen = self._values.setdefault((subject, predicate, key), term)
        if seen != term:
            raise _Unsupported

    def _object(self, value: Mapping[str, Any], emit: bool) -> str | None:
        if "@value" in value:
            return self._value(value) if emit else None
        if "@list" in value:
            return self._list(value, emit)
        return self.node(value)

    def _value(self, value: Mapping[str, Any]) -> str:
        if "@index" in value or str(value.get("@type", "")).startswith("_:"):
            raise _Unsupported
        literal = self._literal(value)
        if literal is None or literal.get("type") != "literal":
            raise _Unsupported
        text = f'"{escape(literal["value"])}"'
        datatype = literal["datatype"]
        if datatype == _LANG_STRING:
            language = literal.get("language")
            return f"{text}@{language}" if language else text
        return text if datatype == _XSD_STRING else f"{text}^^<{datatype}>"

    def _list(self, value: Mapping[str, Any], emit: bool) -> str | None:
        if "@index" in value:
            raise _Unsupported
        items = value["@list"]
        if not emit:
            for item in items:
                self._object(item, emit=False)
            return None
        if not items:
            return _NIL
        head = subject = self._blank(None)
        for position, item in enumerate(items):
            term = self._object(item, emit=True)
            if term is None:  # pyld would write a triple without an object
                raise _Unsupported
            rest = _NIL if position == len(items) - 1 else self._blank(None)
            self.triples.add((subject, _FIRST, term))
            self.triples.add((subject, _REST, rest))
            subject = rest
        return head


def _first_degree_hashes(triples: Iterable[Triple]) -> dict[str, str]:
    """RDFC-1.0 §4.6 Hash First Degree Quads, for every blank node at once."""
    quads_of: dict[str, list[Triple]] = {}
    for triple in triples:
        subject, _, obj = triple
        if subject.startswith("_:"):
            quads_of.setdefault(subject, []).append(triple)
        if obj.startswith("_:"):  # a quad is listed once per blank node position, as in pyld
            quads_of.setdefault(obj, []).append(triple)
    hashes = {}
    for label, quads in quads_of.items():
        lines = sorted(_line(quad, _a_or_z, label) for quad in quads)
        hashes[label] = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    return hashes


def _a_or_z(term: str, label: str) -> str:
    """RDFC-1.0 §4.6 step 3.1: the reference blank node is _:a, any other _:z."""
    if not term.startswith("_:"):
        return term
    return "_:a" if term == label else "_:z"


def _line(triple: Triple, rename: Callable[[str, str], str], label: str = "") -> str:
    subject, predicate, obj = triple
    return f"{rename(subject, label)} {predicate} {rename(obj, label)} .\n"


def canonical_nquads(expanded: list[Any], literal: Literal) -> str | None:
    """RDFC-1.0 canonical N-Quads of `expanded`, or None where pyld must do it."""
    writer = _TripleWriter(literal)
    try:
        for node in expanded:
            writer.node(node)
    except _Unsupported:
        return None
    hashes = _first_degree_hashes(writer.triples)
    if len(set(hashes.values())) != len(hashes):
        return None  # RDFC-1.0 §4.4.3 step 6 (Hash N-Degree Quads): pyld's
    order = sorted(hashes, key=hashes.__getitem__)
    canonical = {label: f"_:c14n{index}" for index, label in enumerate(order)}

    def rename(term: str, _: str) -> str:
        return canonical[term] if term.startswith("_:") else term

    return "".join(sorted(_line(triple, rename) for triple in writer.triples))
