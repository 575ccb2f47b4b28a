"""Config validation: JSON Schema (with defaults) plus the cross-field checks a schema cannot express.

The schema, ``workflow/schemas/config.schema.yaml``, is the config's reference manual: every key has a
``description`` and, where sensible, a ``default``; ``additionalProperties: false`` turns a typo into an error.
``validate_config`` fills defaults in place and raises :class:`ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
from pathlib import Path
from typing import Any

import yaml

from gapbench.errors import ConfigError
from gapbench.registry import load_plugins

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

# Cross-field checks, one per area, each `check(config) -> None` raising ConfigError.
SEMANTIC_CHECKS: tuple[str, ...] = (
    "gapbench.registry:check",  # first: imports the plugins, then checks every model name is registered
    "gapbench.pde.config_checks:check",
    "gapbench.graphs.config_checks:check",
    "gapbench.train.pde_plan:check",
)
# Registries whose entries may bring their own config sections (a plugin's equation or dataset kind), each
# `extend_schema(schema) -> None` adding them in place; run after the plugins are imported.
SCHEMA_EXTENSIONS: tuple[str, ...] = ("gapbench.pde.equations:extend_schema", "gapbench.graphs.kinds:extend_schema")


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _allowed(error) -> str:
    """What the schema allows at the failing key, in words."""
    schema = error.schema
    if error.validator == "additionalProperties":
        return "allowed keys: " + ", ".join(sorted(schema.get("properties", {})))
    if "enum" in schema:
        return "allowed values: " + ", ".join(map(str, schema["enum"]))
    if "pattern" in schema:
        desc = " ".join(schema.get("description", "").split())
        return f"allowed: text matching {schema['pattern']}" + (f" ({desc})" if desc else "")
    bounds = []
    for word, key in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if word in schema:
            bounds.append(f"{key} {schema[word]}")
    kind = schema.get("type")
    desc = " ".join(schema.get("description", "").split())
    parts = [f"type {kind}" if kind else "", " and ".join(bounds)]
    text = ", ".join(p for p in parts if p)
    return (f"allowed: {text}" if text else "") + (f" ({desc})" if desc else "")


def _validator_with_defaults(schema: dict):
    import jsonschema

    base = jsonschema.Draft202012Validator

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = yaml.safe_load(yaml.safe_dump(sub["default"]))
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema_)

    cls = jsonschema.validators.extend(base, {"properties": set_defaults})
    return cls(schema)


def _coerce_strings(value: Any, schema: dict) -> Any:
    """Parse strings where the schema wants a number, boolean, list or mapping.

    ``snakemake --config a='{b: 0.1}'`` hands nested values over as strings ('0.1', 'true'); they are read as
    YAML scalars when, and only when, the schema asks for a non-string type at that key.
    """
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: _coerce_strings(v, props.get(k, {})) for k, v in value.items()}
    if isinstance(value, list):
        return [_coerce_strings(v, schema.get("items", {})) for v in value]
    wanted = schema.get("type")
    wanted = set(wanted) if isinstance(wanted, list) else {wanted}
    if isinstance(value, str) and "string" not in wanted and wanted & {"number", "integer", "boolean", "array", "object"}:
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        if isinstance(parsed, str) and wanted & {"number", "integer"}:
            parsed = _number(parsed, integer="number" not in wanted)
        return _coerce_strings(parsed, schema) if not isinstance(parsed, str) else value
    return value


def _number(text: str, integer: bool) -> Any:
    """``1e4`` (YAML 1.1 reads exponents without a dot as text) as a number; ``text`` when not one.

    Only finite decimal literals are converted; an integral value becomes an ``int`` where an integer is wanted.
    """
    if not NUMBER.fullmatch(text.strip()):
        return text
    value = float(text)
    if integer and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _non_finite(value: Any, path: tuple = ()) -> list[tuple]:
    """Key paths of NaN or infinite numbers (JSON Schema bounds let NaN through: every comparison is false)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, (*path, i))]
    return [path] if isinstance(value, float) and not math.isfinite(value) else []


def _short(message: str, limit: int = 120) -> str:
    """A validator message on one line, long values (a whole section) cut to ``limit`` characters."""
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def lookup_path(config: dict, path: tuple) -> Any:
    for part in path:
        config = config[part]
    return config


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _plugin_schema(config: dict, schema: dict) -> dict:
    """Import the config's plugins (a list of module names; anything else is left to the schema's message) and
    add the config sections of the kinds they register (:data:`SCHEMA_EXTENSIONS`, through
    ``gapbench.registry.add_config_sections``)."""
    plugins, name = config.get("plugins", []), schema["properties"]["plugins"]["items"]["pattern"]
    if isinstance(plugins, list) and all(isinstance(p, str) and re.match(name, p) for p in plugins):
        load_plugins(plugins)
    for spec in SCHEMA_EXTENSIONS:
        _call(spec, schema)
    return schema


def _call(spec: str, argument: Any) -> None:
    module, func = spec.split(":")
    getattr(importlib.import_module(module), func)(argument)


def validate_config(config: dict[str, Any], schema_path: Path | str = SCHEMA_PATH) -> dict[str, Any]:
    """Validate ``config`` against the schema, fill defaults in place, run the semantic checks."""
    schema = _plugin_schema(config, load_schema(Path(schema_path)))
    coerced = _coerce_strings(config, schema)
    config.clear()
    config.update(coerced)
    validator = _validator_with_defaults(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    first = {}
    for err in errors:  # one line per key: its first failing rule (a value may break several)
        first.setdefault(tuple(map(str, err.absolute_path)), err)
    errors = list(first.values())
    if errors:
        lines = [f"invalid config key {_key_path(err.absolute_path)}: {_short(err.message)}; {_allowed(err)}"
                 for err in errors[:10]]
        raise ConfigError("\n".join(lines))
    bad = _non_finite(config)
    if bad:
        raise ConfigError(f"invalid config key {_key_path(bad[0])}: {lookup_path(config, bad[0])} is not a finite "
                          "number; allowed: finite numbers")
    for spec in SEMANTIC_CHECKS:
        _call(spec, config)
    return config


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader refusing a mapping that repeats a key (plain YAML keeps the last one, silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"{self.name}: key {key!r} appears twice in one mapping (lines {seen[key]} and "
                                  f"{line}); allowed: each key once (YAML would silently keep the last)")
            seen[key] = line
        return super().construct_mapping(node, deep)


def read_yaml(path: Path | str) -> Any:
    """The YAML file ``path`` parsed safely, a repeated key in any mapping refused (ConfigError naming it)."""
    with open(path) as fh:
        loader = _UniqueKeyLoader(fh)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()


def read_config(path: Path | str) -> dict[str, Any]:
    """Read a YAML config file as it is written (a repeated key refused: :func:`read_yaml`; no defaults filled,
    not validated)."""
    try:
        config = read_yaml(path) or {}
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: not valid YAML{at} ({getattr(err, 'problem', None) or err})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values")
    return config


def load_config(path: Path | str) -> dict[str, Any]:
    """Read a YAML config file and validate it (defaults filled)."""
    return validate_config(read_config(path))


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` on ``base`` as Snakemake merges ``--configfile A B``: mappings merge key by key, recursively;
    any other value (a list too) replaces the one below it."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


WORKFLOW_CONFIG = "config.yaml"  # the Snakefile's `configfile:`, read from the working directory


def stack(paths: list[Path | str], replace_workflow_config: bool = False) -> list[Path | str]:
    """The files ``snakemake --configfile A B ...`` merges, in order: Snakemake 9 first reads the Snakefile's
    ``config.yaml`` when the working directory has one, and the command line's files extend it (unless
    ``--replace-workflow-config``)."""
    first = [] if replace_workflow_config or not Path(WORKFLOW_CONFIG).is_file() else [WORKFLOW_CONFIG]
    return first + [p for p in paths if not first or Path(p).resolve() != Path(WORKFLOW_CONFIG).resolve()]


def load_stack(paths: list[Path | str]) -> dict[str, Any]:
    """The files merged in order as Snakemake merges them (:func:`merge`), then validated."""
    config: dict[str, Any] = {}
    for path in paths:
        config = merge(config, read_config(path))
    return validate_config(config)


def section_args(section: dict, keys: tuple[str, ...] | list[str]) -> list[str]:
    """``--key value`` for each of ``keys`` of a config section (``_`` in a key becomes ``-``): how a rule hands a
    section's settings to a subcommand, one param (quoted element by element by ``:q``)."""
    return [str(part) for key in keys for part in (f"--{key.replace('_', '-')}", section[key])]


def _check(args: argparse.Namespace) -> int:
    files = stack(args.config, args.replace_workflow_config) if len(args.config) > 1 or args.stack else args.config
    load_stack(files)
    print(f"{' + '.join(map(str, files))}: valid")
    return 0


def register(sub) -> None:
    p = sub.add_parser("config", help="validate a config file against the schema")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate CONFIG (schema + cross-field checks); several files (or --stack) "
                        "are checked as the config `snakemake --configfile A B ...` runs in this directory: the "
                        "Snakefile's config.yaml when present, then A, B, ... (mappings merge, other values and "
                        "lists are replaced)")
    c.add_argument("config", nargs="+", help="paths to YAML configs, in the order of --configfile")
    c.add_argument("--stack", action="store_true", help="check even one file as the stack snakemake runs")
    c.add_argument("--replace-workflow-config", action="store_true",
                   help="leave config.yaml out of the stack (as snakemake --replace-workflow-config)")
    c.set_defaults(handler=_check)
