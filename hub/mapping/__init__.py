"""The mapping engine: raw system records <-> canonical records, compiled from YAML.

```python
from concord.hub.mapping import load_mapping
m = load_mapping("mappings/salesforce/account.yaml", system="crm")
account = m.to_canonical(raw_record)          # schemas.Account; RecordError on bad data
flat = m.to_canonical_flat(raw_record)        # hub.canonical.flatten(account)
payload = m.to_source(flat, fields={"phone"}) # {"Phone": "+4930123456"}
```
The format and every transform are documented in docs/mapping-reference.md.
"""
from __future__ import annotations

from concord.hub.mapping import transforms as _builtin  # noqa: F401  (registers the built-in transforms)
from concord.hub.mapping.compile import compile_mapping, load_mapping, load_mappings
from concord.hub.mapping.compiled import CompiledMapping, SourceRef
from concord.hub.mapping.paths import PathError, format_path, parse_path
from concord.hub.mapping.registry import (
    TRANSFORMS, BoundTransform, NoParams, Params, Transform, TransformError, register_transform,
)
from concord.hub.mapping.rules import Resolver

__all__ = [
    "load_mapping", "load_mappings", "compile_mapping", "CompiledMapping", "SourceRef", "Resolver", "TRANSFORMS",
    "register_transform", "Transform", "BoundTransform", "Params", "NoParams", "TransformError", "parse_path",
    "format_path", "PathError",
]
