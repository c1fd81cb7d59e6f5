"""Validation of ``config/config.yaml``: its JSON Schema (with defaults, bounds and the line of every key)
and the rules across keys that a schema cannot express (prior sets that exist, the validation target's SBC
draws and scenarios). Nothing here reads the configuration itself: it takes the parsed mapping, or a path to
check that the file parses.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

from crpsmeta.inputs.issues import InputValidationError, Issue, _DefaultingValidator, _describe, _leaf_errors
from crpsmeta.inputs.tables import _decode_utf8

# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------


def _yaml_key_lines(text: str | None) -> tuple[dict[tuple[str, ...], int], list[tuple[tuple[str, ...], int, int]]]:
    """Map each key path of a YAML document to its 1-based line number; list keys given twice in one mapping
    (path, line, line of the first)."""
    if not text:
        return {}, []
    import yaml

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}, []
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[tuple[tuple[str, ...], int, int]] = []

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = path + (str(key.value),)
                if sub in lines:  # YAML loaders keep the last of two equal keys, silently
                    duplicates.append((sub, key.start_mark.line + 1, lines[sub]))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = path + (str(i),)
                lines[sub] = item.start_mark.line + 1
                walk(item, sub)

    walk(root, ())
    return lines, duplicates


def config_file_issues(path: str | Path, filename: str | None = None) -> list[Issue]:
    """Problems that stop a YAML config file from being read at all: not UTF-8, or not valid YAML.

    Snakemake's own message for these names neither line nor column; this one
    does, so it is checked before Snakemake loads the file.
    """
    import yaml

    name = filename or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [Issue(name, None, None, None, None, "readable", f"cannot read file: {exc.strerror}")]
    text, issue = _decode_utf8(raw, name, locate_cell=False)
    if issue:
        return [issue]
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" at column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        return [
            Issue(
                name,
                line,
                None,
                None,
                None,
                "yaml_syntax",
                f"not valid YAML{where}: {problem}" + (f" ({context})" if context else ""),
            )
        ]
    if not isinstance(document, dict):
        return [
            Issue(
                name,
                None,
                None,
                None,
                None,
                "yaml_syntax",
                f"the file must be a mapping of keys to values, not {type(document).__name__}",
            )
        ]
    return []


def validate_config(config: dict, schema: dict, filename: str = "config/config.yaml", text: str | None = None) -> dict:
    """Validate a configuration mapping and return a copy with defaults filled in.

    Parameters
    ----------
    config : dict
        The configuration as loaded (e.g. Snakemake's ``config``).
    schema : dict
        The JSON Schema (``workflow/schemas/config.schema.yaml``).
    filename : str
        Shown in error messages.
    text : str, optional
        The YAML source, used only to give the line of a faulty key.

    Raises
    ------
    InputValidationError
        With one :class:`Issue` per problem.
    """
    cfg = copy.deepcopy(dict(config))
    key_lines, duplicates = _yaml_key_lines(text)
    issues: list[Issue] = [
        Issue(
            filename,
            line,
            None,
            ".".join(path),
            None,
            "duplicate_key",
            f"key given twice in one mapping (first on line {first}); only the last would count",
        )
        for path, line, first in duplicates
    ]
    validator = _DefaultingValidator(schema)
    for error in _leaf_errors(validator.iter_errors(cfg)):
        path = tuple(str(p) for p in error.absolute_path)
        rule, message = _describe(error)
        column = ".".join(path) if path else None
        value = error.instance if path else None
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for extra in sorted(k for k in error.instance if k not in allowed):
                key = path + (str(extra),)
                issues.append(
                    Issue(
                        filename,
                        key_lines.get(key),
                        None,
                        ".".join(key),
                        None,
                        "unknown_key",
                        f"unknown key; allowed here: {', '.join(sorted(allowed)) or '(none)'}",
                    )
                )
            continue
        if error.validator == "required":
            for missing in [p for p in error.validator_value if p not in error.instance]:
                key = path + (missing,)
                issues.append(
                    Issue(filename, key_lines.get(path), None, ".".join(key), None, "required", "required key missing")
                )
            continue
        issues.append(
            Issue(
                filename,
                key_lines.get(path),
                None,
                column,
                value if not isinstance(value, (dict, list)) else None,
                rule,
                message,
            )
        )
    prior_set, prior_sets = cfg.get("prior_set"), cfg.get("prior_sets")
    if isinstance(prior_set, str) and isinstance(prior_sets, dict):
        if prior_set not in prior_sets:
            issues.append(
                Issue(
                    filename,
                    key_lines.get(("prior_set",)),
                    None,
                    "prior_set",
                    prior_set,
                    "known_prior_set",
                    f"no prior set of that name; defined: {', '.join(cfg.get('prior_sets', {}))}",
                )
            )
        sens = cfg.get("sensitivity_prior_sets")
        if isinstance(sens, list):
            for i, name in enumerate(sens):
                if isinstance(name, str) and name not in prior_sets:
                    issues.append(
                        Issue(
                            filename,
                            key_lines.get(
                                ("sensitivity_prior_sets", str(i)), key_lines.get(("sensitivity_prior_sets",))
                            ),
                            None,
                            f"sensitivity_prior_sets.{i}",
                            name,
                            "known_prior_set",
                            f"no prior set of that name; defined: {', '.join(prior_sets)}",
                        )
                    )
    if not issues:  # rules across keys, on a config whose keys and types are right (defaults filled in)
        issues += _validation_target_issues(cfg, filename, key_lines)
        issues += _time_course_issues(cfg, filename, key_lines)
    if issues:
        raise InputValidationError(list(dict.fromkeys(issues)))
    return cfg


def _time_course_issues(cfg: dict, filename: str, key_lines: dict) -> list[Issue]:
    """With time_course among the models, every prior set it is fitted under needs a ``half_life`` prior
    (optional otherwise, as placebo_adjusted does not read it), and the window of a row without weeks must
    lie within the weeks its timepoint may report."""
    from crpsmeta.vocabulary import WEEKS_BY_TIMEPOINT

    if "time_course" not in cfg["models"]:
        return []
    issues = []
    names = list(cfg["prior_sets"]) if cfg["sensitivity_prior_sets"] == "all" else cfg["sensitivity_prior_sets"]
    for name in dict.fromkeys([cfg["prior_set"], *names]):
        if "half_life" not in cfg["prior_sets"][name]["placebo_adjusted"]:
            path = ("prior_sets", name, "placebo_adjusted")
            issues.append(
                Issue(
                    filename,
                    key_lines.get(path),
                    None,
                    ".".join((*path, "half_life")),
                    None,
                    "required_for_time_course",
                    "models includes time_course, which needs a half_life prior in every prior set it is "
                    "fitted under (e.g. {family: lognormal, meanlog: 0.44, sdlog: 0.35}: Dahan et al. 2011)",
                )
            )
    for tp, (lo, hi) in cfg["time_course"]["unknown_weeks"].items():
        first, last = WEEKS_BY_TIMEPOINT[tp]
        if not (first <= lo < hi <= last):
            path = ("time_course", "unknown_weeks", tp)
            issues.append(
                Issue(
                    filename,
                    key_lines.get(path),
                    None,
                    ".".join(path),
                    f"[{lo}, {hi}]",
                    "window_within_timepoint",
                    f"need {first} <= first < last <= {last} (the weeks a {tp} outcome may report)",
                )
            )
    return issues


def _validation_target_issues(cfg: dict, filename: str, key_lines: dict) -> list[Issue]:
    """The validation target's rules across keys: its prior sets exist, its SBC draws fit in its chains, and each
    scenario can be simulated (check_design)."""

    section, issues = cfg["validation"], []

    def line(*path):
        return key_lines.get(("validation", *path), key_lines.get(("validation",)))

    for key in ("simulate_prior_set", "fit_prior_set"):
        name = section.get(key)
        if name is not None and name not in cfg["prior_sets"]:
            issues.append(
                Issue(
                    filename,
                    line(key),
                    None,
                    f"validation.{key}",
                    name,
                    "known_prior_set",
                    f"no prior set of that name; defined: {', '.join(cfg['prior_sets'])}",
                )
            )
    sampler = section["sampler"]
    if sampler["chains"] * sampler["draws"] < section["sbc_draws"]:
        issues.append(
            Issue(
                filename,
                line("sbc_draws"),
                None,
                "validation.sbc_draws",
                section["sbc_draws"],
                "sbc_draws_fit_chains",
                f"exceeds validation.sampler chains x draws ({sampler['chains']} x {sampler['draws']})",
            )
        )
    for name, design in section["scenarios"].items():
        try:
            check_design(design["model"], design)
        except ValueError as exc:
            issues.append(
                Issue(
                    filename,
                    line("scenarios", name),
                    None,
                    f"validation.scenarios.{name}",
                    None,
                    "scenario_can_be_simulated",
                    str(exc),
                )
            )
    return issues


def check_design(model: str, design: Mapping) -> None:
    """Refuse a validation scenario (config ``validation.scenarios``) that cannot be simulated, saying why
    (ValueError)."""
    if design["n_min"] < 1 or design["n_max"] < design["n_min"]:
        raise ValueError(f"need 1 <= n_min <= n_max, got {design['n_min']} and {design['n_max']}")
    if model == "pooled_rate":
        extra = [k for k in ("rct", "rct_contrast", "single_arm_pain", "definitions") if design.get(k, 0)]
        if extra:
            raise ValueError(f"a pooled_rate scenario has single-arm series only; remove {', '.join(extra)}")
        if design["single_arm"] < 1:
            raise ValueError("a pooled_rate scenario needs single_arm >= 1")
    elif design["rct"] + design["rct_contrast"] + design["single_arm"] < 1:
        raise ValueError("a placebo_adjusted scenario needs at least one study")
    elif design["single_arm_pain"] > design["single_arm"]:
        raise ValueError("single_arm_pain counts single-arm series and cannot exceed single_arm")
