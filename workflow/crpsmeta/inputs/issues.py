"""A problem with the inputs, located: :class:`Issue` (file, line and row, column or key, value, rule,
message) and :class:`InputValidationError`, which carries every issue found so a reviewer fixes a table in
one pass. Also how a JSON Schema error becomes an Issue (the schema's own wording, the leaf of ``oneOf``
branches that fit best, defaults filled in as the schema gives them).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema


@dataclass(frozen=True)
class Issue:
    """One validation problem, located precisely enough to fix it."""

    file: str
    line: int | None  # line in the file (1 = header of a CSV); None if not locatable
    row: int | None  # 1-based data row of a CSV (header excluded); None for config or header problems
    column: str | None  # column of a CSV or dotted key of a config
    value: Any
    rule: str  # short rule name, e.g. "responders_le_n"
    message: str  # what is wrong and what would be right

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}" + (f" (row {self.row})" if self.row is not None else ""))
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(
                f"column '{self.column}'" if not self.file.endswith((".yaml", ".yml")) else f"key '{self.column}'"
            )
        value = "" if self.value is None else f", value {self.value!r}"
        return f"{', '.join(where)}{value}: {self.message} [rule: {self.rule}]"


class InputValidationError(ValueError):
    """All validation problems found, reported together."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues = list(issues)
        lines = [f"{len(self.issues)} problem(s) found in the inputs; nothing was run:"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------
# JSON Schema helpers
# --------------------------------------------------------------------------


def _with_defaults(validator_class):
    """Extend a validator class so that validation fills in ``default`` values."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _with_defaults(jsonschema.Draft202012Validator)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Rule name and a plain message for a jsonschema error."""
    v, vv, schema = error.validator, error.validator_value, error.schema
    rule = schema.get("x-rule") if isinstance(schema, dict) else None
    if v == "required":
        missing = [p for p in vv if isinstance(error.instance, dict) and p not in error.instance]
        msg = f"required value missing: {', '.join(missing)}"
        return ("required", f"{msg} ({rule})" if rule else msg)
    if v == "enum":
        return ("enum", f"must be one of {', '.join(map(str, vv))}")
    if v == "const":
        return ("const", f"must be {vv!r}")
    if v == "type":
        kinds = vv if isinstance(vv, list) else [vv]
        names = {
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true or false",
            "string": "text",
            "object": "a mapping",
            "array": "a list",
        }
        return ("type", "must be " + " or ".join(names.get(k, k) for k in kinds))
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return (v, f"must be {op} {vv}")
    if v == "pattern":
        return ("pattern", f"must match {vv} ({schema.get('description', '')})".rstrip(" ()"))
    if v == "minLength":
        return ("minLength", "must not be empty")
    if v == "additionalProperties":
        return ("unknown_key", error.message.replace("Additional properties are not allowed", "unknown key(s)"))
    if v in ("minItems", "uniqueItems", "minProperties"):
        return (v, error.message)
    if v == "oneOf":
        return ("oneOf", f"does not match any allowed form: {error.message}")
    return (str(v), error.message)


_JSON_TYPES = {"array": list, "object": dict, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def _branch_fits(branch: dict, instance) -> bool:
    """Whether a oneOf/anyOf branch is meant for this kind of value (by its type or const)."""
    if "const" in branch:
        return type(branch["const"]) is type(instance)
    kinds = branch.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    return any(isinstance(instance, _JSON_TYPES[k]) for k in kinds if k in _JSON_TYPES)


def _leaf_errors(errors: Iterable[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    """Flatten combinator errors (oneOf, anyOf) into the causes in the branch meant for the value."""
    out = []
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            branches = error.validator_value
            fitting = [
                e for e in error.context if e.schema_path and _branch_fits(branches[e.schema_path[0]], error.instance)
            ]
            best = jsonschema.exceptions.best_match(fitting or error.context)
            out.append(best if best is not None else error)
        else:
            out.append(error)
    return out
