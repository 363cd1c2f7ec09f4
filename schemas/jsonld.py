"""RDFC-1.0 (URDNA2015) canonicalization and JSON-LD expansion, offline, in safe mode, fast.

`canonicalize(document)` returns the same N-Quads, byte for byte, as plain pyld's
`jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
"rdfDirection": "i18n-datatype", "documentLoader": schemas.contexts.document_loader})`,
several times faster, and refuses documents that JSON-LD safe mode refuses. So do
`canonicalize(document, expand(document))` (a caller that already expanded the document) and
`canonicalize_proof_config(config)` (a Data Integrity proof configuration). Only contexts
bundled with Lattice are used (`schemas.contexts`); any other context URL raises
`UnknownDocumentError`.

Safe mode
---------
pyld 3.3 has no `safe` option (only an `on_property_dropped` callback on `expand`), so it is
implemented here, raising `JsonLdSafeModeError` on the jsonld.js safe-mode events that matter
for signed credentials:

* invalid property: a key that is not a defined term / absolute IRI and would be dropped
  (pyld's `on_property_dropped` callback; the message names the key);
* relative @type / @id / @vocab reference: an IRI in the document that no term, prefix,
  `@vocab` or `@base` makes absolute. pyld silently resolves these against its default base
  `http://example.org/base/` (jsonld.js keeps them relative and drops them), so a credential
  with `"type": "1EdTechJsonSchemaValidator2019"` but without the extensions context would be
  signed as `<http://example.org/base/1EdTechJsonSchemaValidator2019>`. Detected by
  expanding document IRIs without the base first (`_expand_iri` below);
* rdfDirection not set: a value with `@direction`, whose direction RDF would silently lose.
  `canonicalize` always sets rdfDirection "i18n-datatype" (as digitalbazaar's
  eddsa-rdfc-2022 cryptosuite does), so `{"@value": "v", "@language": "ar", "@direction":
  "rtl"}` becomes `"v"^^<https://www.w3.org/ns/i18n#ar_rtl>` and the direction is signed;
  the check guards any other RDF conversion. Documents without `@direction` canonicalize
  exactly as without the option (pyld reads it only for values that have `@direction`).

Not covered (not produced by OB credentials): free-floating top-level values, objects with
only `@id`/`@language` at top level, blank-node predicates.

Speed (see ../shared/PERFORMANCE.md beside the checkout)
--------------------------------------------------------
Plain pyld re-processes the type-scoped contexts of the OB context at every node: a
type-scoped context is applied to a fresh clone of the active context, whose new random
`_uuid` misses pyld's processed-context cache every time, and resolving each scoped context
JCS-canonicalizes it to build a cache key. Here:

* `_process_context` is memoized on (identity of the active context, key of the local
  context, flags). Only frozen active contexts that are themselves memo results (or the
  initial context) recur, so the memo holds the contexts it keys on alive and ids are never
  reused. Local contexts are keyed by URL, by identity for objects inside the bundled
  contexts (a private copy per process that nothing mutates after loading), and by sorted
  JSON for inline context objects.
* `_expand_iri` outside context definitions is memoized the same way, on (identity of the
  frozen active context, value, base, vocab); the safe-mode check runs on every miss and a
  refused IRI is never cached.
* a resolver keyed by identity for those bundled objects instead of their JCS form, with a
  process-wide cache of the bundled documents.
* after expansion, `schemas.rdfc` writes the triples and runs RDFC-1.0 for documents whose
  blank nodes all have distinct first-degree hashes (credentials), instead of pyld's node
  map, RDF conversion and general canonicalizer; pyld does the rest.
* a caller that already has the expansion (the verifier's jsonld step) passes it in, and
  proof configurations that differ only by `created` share a template
  (`canonicalize_proof_config`).

All are pure functions of their inputs, so the output is unchanged (checked in
tests/schemas/test_jsonld.py and tests/schemas/test_canonical_equivalence.py against plain
pyld on every fixture). `expand` runs the same checks except the rdfDirection one, which
belongs to RDF conversion. The patching lives in `_LatticeProcessor` and `_BundledResolver`
only (`schemas.rdfc` calls pyld's `_object_to_rdf` for literals), and is checked against
the pyld versions it was verified with (`_VERIFIED_PYLD`); on any other version importing
this module fails rather than risking a silently different signature. Caches warm lazily
(importing is cheap, fork/spawn pool workers warm their own), are bounded, and a lock
serializes pyld calls (pyld's own caches are not thread-safe; under the GIL the pure-Python
work would not run in parallel anyway).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final

import pyld
from cachetools import LRUCache
from frozendict import frozendict
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer
from pyld.resolved_context import ResolvedContext

from schemas.contexts import UnknownDocumentError, is_known_context, load_document
from schemas.rdfc import canonical_nquads

__all__ = [
    "InvalidJsonLdError",
    "JsonLdSafeModeError",
    "UnknownDocumentError",
    "canonicalize",
    "canonicalize_proof_config",
    "expand",
]

_VERIFIED_PYLD: Final = ((3, 3),)
"""pyld (major, minor) versions whose internals `_LatticeProcessor` was checked against."""


def _check_pyld_version(version: str) -> None:
    major_minor = tuple(int(part) for part in version.split(".")[:2])
    if major_minor not in _VERIFIED_PYLD:
        raise ImportError(
            f"schemas.jsonld patches pyld internals verified only with pyld "
            f"{', '.join(f'{a}.{b}.x' for a, b in _VERIFIED_PYLD)}; pyld {version} is installed. "
            "Re-run tests/schemas/test_jsonld.py against it and extend _VERIFIED_PYLD."
        )


_check_pyld_version(pyld.__about__.__version__)


class InvalidJsonLdError(ValueError):
    """The document is not valid JSON-LD (pyld reported a syntax or processing error)."""


class JsonLdSafeModeError(InvalidJsonLdError):
    """Expansion would silently drop or relativize data (JSON-LD safe mode)."""


# JSON-LD 1.1 API §8.6 step 13: with "i18n-datatype" a value's @language and @direction
# become its datatype IRI, https://www.w3.org/ns/i18n#{language}_{direction}. Other
# implementations (jsonld.js via the digitalbazaar cryptosuites) canonicalize the same way,
# so a credential with @direction verifies there too.
RDF_DIRECTION: Final = "i18n-datatype"
_ABSOLUTE_IRI: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")  # as pyld's
_MEMO_MAX: Final = 20_000
_NULL_CONTEXT: Final = ("null",)

_lock = threading.Lock()
# Bundled contexts as pyld sees them: one private deep copy per URL, never released, so the
# ids of the objects inside are stable for the life of the process.
_pinned_docs: dict[str, dict[str, Any]] = {}
_pinned_ids: set[int] = set()
_pinned_resolved: dict[int, Any] = {}
_shared_resolved: LRUCache[Any, Any] = LRUCache(maxsize=512)
_memo: dict[tuple[Hashable, ...], tuple[Any, Any]] = {}
_iri_memo: dict[tuple[Hashable, ...], tuple[Any, Any]] = {}


def _pin(node: Any) -> None:
    if isinstance(node, dict):
        _pinned_ids.add(id(node))
        for value in node.values():
            _pin(value)
    elif isinstance(node, list):
        _pinned_ids.add(id(node))
        for value in node:
            _pin(value)


def _bundled_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader over the pinned private copies of the bundled contexts."""
    document = _pinned_docs.get(url)
    if document is None:
        if not is_known_context(url):
            raise UnknownDocumentError(url)
        document = copy.deepcopy(load_document(url))
        _pin(document)
        _pinned_docs[url] = document
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
        "tag": "static",
    }


def _context_key(local_ctx: Any) -> Hashable | None:
    """A cheap cache key for a local context, or None when it cannot be keyed safely."""
    if isinstance(local_ctx, str):
        return local_ctx
    if local_ctx is None or local_ctx is False:
        return _NULL_CONTEXT
    if id(local_ctx) in _pinned_ids:
        return ("pinned", id(local_ctx))
    if isinstance(local_ctx, list):
        parts = tuple(_context_key(item) for item in local_ctx)
        return None if None in parts else ("list", parts)
    if isinstance(local_ctx, dict):
        try:
            return ("inline", json.dumps(local_ctx, sort_keys=True, separators=(",", ":")))
        except (TypeError, ValueError):
            return None
    return None


class _BundledResolver(ContextResolver):  # type: ignore[misc]  # pyld has no type hints
    """pyld ContextResolver that keys bundled context objects by identity, not by JCS."""

    def __init__(self) -> None:
        super().__init__(_shared_resolved, _bundled_loader)

    def resolve(self, active_ctx: Any, context: Any, base: Any, cycles: Any = None) -> Any:
        local = context
        if isinstance(local, (dict, frozendict)) and "@context" in local:
            local = local["@context"]
        items = local if isinstance(local, list) else [local]
        if not any(id(item) in _pinned_ids for item in items):
            return super().resolve(active_ctx, context, base, cycles)
        resolved: list[Any] = []
        for item in items:
            if id(item) in _pinned_ids and isinstance(item, dict):
                entry = _pinned_resolved.get(id(item))
                if entry is None:
                    entry = _pinned_resolved[id(item)] = ResolvedContext(item)
                resolved.append(entry)
            else:
                resolved.extend(super().resolve(active_ctx, [item], base, cycles))
        return resolved


# Which context defines the types credentials commonly use without it (type name prefix ->
# context); a type not listed gets no suggestion rather than a wrong one.
_DEFINING_CONTEXTS: Final = (
    ("StatusList2021", "https://w3id.org/vc/status-list/2021/v1"),
    ("BitstringStatusList", "https://www.w3.org/ns/credentials/v2"),
    ("1EdTech", "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"),
    ("Ed25519Signature2020", "https://w3id.org/security/suites/ed25519-2020/v1"),
)


def _missing_context_hint(type_name: str) -> str:
    for prefix, context in _DEFINING_CONTEXTS:
        if type_name.startswith(prefix):
            return f'"{type_name}" is defined by {context}; is that context missing?'
    return "is a context missing?"


class _LatticeProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]  # pyld has no type hints
    """pyld's processor with safe-mode checks and memoized context processing.

    The only place Lattice overrides pyld internals: `_process_context`, `_expand_iri` and
    `_object_to_rdf` keep pyld's signatures and results and add a cache or a check; `expand`
    returns a known expansion when the processor was given one.
    """

    def __init__(self, expanded: list[Any] | None = None) -> None:
        super().__init__(on_property_dropped=self._property_dropped)
        self._unmapped_key: str | None = None
        self._expanded = expanded

    def expand(self, input_: Any, options: Any) -> Any:
        # `to_rdf` (and so `normalize`) starts by expanding its input: a processor built with
        # the input's expansion hands that over once instead of expanding it again.
        if self._expanded is not None:
            expanded, self._expanded = self._expanded, None
            return expanded
        return super().expand(input_, options)

    def _property_dropped(self, expanded_property: str | None) -> None:
        name = expanded_property if expanded_property is not None else self._unmapped_key
        raise JsonLdSafeModeError(
            f'JSON-LD safe mode: property "{name}" is not defined by the @context and '
            "would be dropped (invalid property)"
        )

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        # Partial contexts still being defined are mutable dicts, and `cycles` is only passed
        # when validating scoped contexts during a definition: never memoize those.
        context_key = (
            _context_key(local_ctx)
            if cycles is None
            and type(active_ctx) is frozendict
            and isinstance(options.get("contextResolver"), _BundledResolver)
            else None
        )
        if context_key is None:
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped
            )
        key = (
            id(active_ctx),
            context_key,
            override_protected,
            propagate,
            validate_scoped,
            options.get("base"),
        )
        hit = _memo.get(key)
        if hit is not None and hit[0] is active_ctx:
            return hit[1]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped
        )
        if type(result) is frozendict:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[key] = (active_ctx, result)  # holds active_ctx alive: its id stays unique
        return result

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        if local_ctx is not None or type(value) is not str:  # inside a context definition
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        if type(active_ctx) is not frozendict:
            rval = self._expand_document_iri(active_ctx, value, base, vocab)
        else:
            # A pure function of a frozen active context, the value and the flags: memoize
            # it like _process_context.
            key = (id(active_ctx), value, base, vocab)
            hit = _iri_memo.get(key)
            if hit is not None and hit[0] is active_ctx:
                rval = hit[1]
            else:
                rval = self._expand_document_iri(active_ctx, value, base, vocab)
                if len(_iri_memo) >= _MEMO_MAX:
                    _iri_memo.clear()
                _iri_memo[key] = (active_ctx, rval)  # holds active_ctx alive: id stays unique
        if rval is None and vocab:
            self._unmapped_key = value  # named by _property_dropped if the key is dropped
        return rval

    def _expand_document_iri(self, active_ctx: Any, value: str, base: Any, vocab: bool) -> Any:
        if base != "":
            return super()._expand_iri(active_ctx, value, base, vocab)
        # Document-relative expansion (@id and @type values, values typed @id/@vocab,
        # @vocab). Expand without the base first: if the result is absolute, pyld's result
        # with base "" is the same; if not, only the document base could make it absolute.
        rval = super()._expand_iri(active_ctx, value, None, vocab)
        if not isinstance(rval, str) or rval.startswith("@") or _ABSOLUTE_IRI.match(rval):
            return rval
        if active_ctx.get("@base") is not None:
            with_base = super()._expand_iri(active_ctx, value, base, vocab)
            if isinstance(with_base, str) and _ABSOLUTE_IRI.match(with_base):
                return with_base
        if vocab:
            raise JsonLdSafeModeError(
                f'JSON-LD safe mode: relative @type reference "{value}" does not expand to an '
                f"absolute IRI (it is not a term of the @context; {_missing_context_hint(value)})"
            )
        raise JsonLdSafeModeError(
            f'JSON-LD safe mode: relative @id reference "{value}" does not expand to an '
            "absolute IRI (identifiers must be absolute: https:, urn:, did:, ...)"
        )

    def _object_to_rdf(self, item: Any, issuer: Any, triples: Any, options: Any) -> Any:
        if isinstance(item, dict) and "@direction" in item and not options.get("rdfDirection"):
            raise JsonLdSafeModeError(
                f'JSON-LD safe mode: value "{item.get("@value")}" has "@direction", which '
                "RDF canonicalization without rdfDirection would drop (rdfDirection not set)"
            )
        return super()._object_to_rdf(item, issuer, triples, options)


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "documentLoader": _bundled_loader,
        "contextResolver": _BundledResolver(),
        "base": "",
        **extra,
    }


def _run(operation: Callable[[], Any]) -> Any:
    """Run a pyld operation, turning its errors into Lattice's exceptions."""
    try:
        with _lock:
            return operation()
    except (JsonLdSafeModeError, UnknownDocumentError):
        raise
    except jsonld.JsonLdError as error:
        raise _translate(error) from error


def _translate(error: BaseException) -> Exception:
    """Find the cause that matters in pyld's chain of wrapped errors."""
    seen: set[int] = set()
    innermost: BaseException = error
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (JsonLdSafeModeError, UnknownDocumentError)):
            return current
        if isinstance(current, jsonld.JsonLdError):
            innermost = current
        current = current.__cause__ or current.__context__
    code = getattr(innermost, "code", None)
    details = getattr(innermost, "details", None)
    message = innermost.args[0] if innermost.args else type(innermost).__name__
    suffix = f" ({code})" if code else ""
    if isinstance(details, dict) and "url" in details:
        suffix += f" [url: {details['url']}]"
    return InvalidJsonLdError(f"invalid JSON-LD: {message}{suffix}")


def canonicalize(document: Mapping[str, Any], expanded: Sequence[Any] | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of `document` (remove `proof` first, as Data Integrity does).

    `expanded`, when the caller has it, is `expand(document)` of this same document: the
    JSON-LD expansion (about half of the work) is then not done again. It is not changed.
    """
    source = dict(document) if not isinstance(document, dict) else document
    result = _run(lambda: _canonicalize(source, expanded))
    if not isinstance(result, str):
        raise TypeError("pyld returned a dataset instead of N-Quads")
    return result


def _canonicalize(source: dict[str, Any], expanded: Sequence[Any] | None) -> Any:
    """Expand (unless given the expansion), then RDF and RDFC-1.0 by schemas.rdfc or pyld."""
    processor = _LatticeProcessor()
    tree = list(expanded) if expanded is not None else processor.expand(source, _options())
    rdf_options = {"rdfDirection": RDF_DIRECTION, "processingMode": "json-ld-1.1"}

    def literal(item: Mapping[str, Any]) -> Any:
        return processor._object_to_rdf(item, IdentifierIssuer("_:b"), [], rdf_options)

    canonical = canonical_nquads(tree, literal)
    if canonical is not None:
        return canonical
    # pyld's RDF conversion relabels blank nodes in the tree it is given: hand it a copy.
    options = _options(
        algorithm="URDNA2015", format="application/n-quads", rdfDirection=RDF_DIRECTION
    )
    return _LatticeProcessor(_copy_json(tree)).normalize(source, options)


# Proof configurations differ between credentials of one issuer mostly by `created`. When
# `created` becomes an xsd:dateTime literal (as every Data Integrity context defines it) and
# the configuration has a single blank node (its own subject, so the canonical labelling is
# always _:c14n0), the canonical N-Quads are those of any other `created` with that literal
# swapped and the lines re-sorted. pyld writes an xsd:dateTime string literal as it is, and
# the characters allowed below need no N-Quads escaping.
_SENTINEL: Final = "lattice0created0placeholder"
_SENTINEL_LITERAL: Final = f'"{_SENTINEL}"^^<http://www.w3.org/2001/XMLSchema#dateTime>'
_PLAIN_DATE_TIME: Final = re.compile(r"[0-9A-Za-z:.+-]+")
_NO_TEMPLATE: Final[tuple[str, ...]] = ()
_config_templates: LRUCache[str, tuple[str, ...]] = LRUCache(maxsize=256)
_templates_lock = threading.Lock()


def canonicalize_proof_config(config: Mapping[str, Any]) -> str:
    """`canonicalize(config)` for a proof configuration, memoized on all but its `created`."""
    created = config.get("created")
    if not isinstance(created, str) or not _PLAIN_DATE_TIME.fullmatch(created):
        return canonicalize(config)
    try:
        key = json.dumps(
            {name: value for name, value in config.items() if name != "created"},
            sort_keys=True,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        return canonicalize(config)
    with _templates_lock:
        template = _config_templates.get(key)
    if template is None:
        result = canonicalize(config)  # first: this configuration's own errors are raised
        template = _config_template({**config, "created": _SENTINEL})
        with _templates_lock:
            _config_templates[key] = template
        return result
    filled = _fill_template(template, created)
    return filled if filled is not None else canonicalize(config)


def _config_template(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The canonical lines of `config` (holding the sentinel), or none if it cannot serve."""
    try:
        canonical = canonicalize(config)
    except InvalidJsonLdError:
        return _NO_TEMPLATE
    if (
        canonical.count(_SENTINEL) != 1
        or canonical.count(_SENTINEL_LITERAL) != 1
        or "_:c14n1 " in canonical
    ):
        return _NO_TEMPLATE
    return tuple(canonical.splitlines(keepends=True))


def _fill_template(template: tuple[str, ...], created: str) -> str | None:
    """The template's lines with `created` in place of the sentinel, in canonical order."""
    if not template:
        return None
    literal = f'"{created}"^^<http://www.w3.org/2001/XMLSchema#dateTime>'
    lines = [line.replace(_SENTINEL_LITERAL, literal) for line in template]
    if len(set(lines)) != len(lines):  # the new literal duplicates a quad: not the same set
        return None
    lines.sort()
    return "".join(lines)


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars), several times faster than deepcopy."""
    if type(value) is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy_json(item) for item in value]
    return value


def expand(document: Mapping[str, Any]) -> list[Any]:
    """JSON-LD expanded form of `document`, with the same safe-mode checks as canonicalize."""
    source = dict(document) if not isinstance(document, dict) else document
    result = _run(lambda: _LatticeProcessor().expand(source, _options()))
    if not isinstance(result, list):
        raise TypeError("pyld returned a non-list expansion")
    return result
