"""Configuration of the files connector (CSV and JSON Lines drops)."""
from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FieldKind = Literal["string", "text", "integer", "decimal", "boolean", "date", "datetime", "email", "phone", "url", "object", "array",
                    "picklist", "id"]


class FileEntity(BaseModel):
    """One file = one entity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str = Field(..., description="File name, relative to `root`.")
    format: Literal["csv", "jsonl"] | None = Field(None, description="Defaults from the extension.")
    key: str | tuple[str, ...] = Field(..., description="Primary key column(s).")
    cursor: str = Field("mtime", description="`mtime` (the file's modification) or a column holding a change timestamp.")
    lookback_seconds: float = Field(0, ge=0, description="Re-read window for a column cursor.")
    external_id: str | None = Field(None, description="Column that stores Concord's golden id (enables upsert).")
    id_prefix: str = Field("", description="Prefix of keys Concord generates for created records.")
    modified_column: str | None = Field(None, description="Column Concord stamps with the write time.")
    fields: dict[str, FieldKind] | None = Field(None, description="Declared columns and their types (else the header).")
    required: tuple[str, ...] = Field((), description="Columns that must not be empty in a written record.")
    picklists: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="Allowed values per column.")
    read_only: bool = False
    delimiter: str = Field(",", description="CSV cell separator: one character, not a quote or a line break.")
    encoding: str = Field("utf-8", description="Any ASCII-compatible encoding (utf-8, utf-8-sig, cp1252, latin-1...).")
    comment_prefix: str | None = Field(None, description="Lines starting with this are comments: skipped on read, "
                                                         "kept on write. Off by default.")
    escape_formulas: bool = Field(True, description="CSV: neutralise spreadsheet formulas on write (a leading "
                                                    "single quote) and undo it on read.")

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str) -> str:
        if len(v) != 1 or v in "\"\r\n'":
            raise ValueError("delimiter must be one character other than a quote or a line break")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        probe = b'\n\r",;|\t=abcXYZ019'
        try:
            ok = probe.decode(v) == probe.decode("ascii")
        except (LookupError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise ValueError(f"encoding {v!r} is unknown or not ASCII-compatible (UTF-16/32 drops are not supported)")
        return v

    @field_validator("comment_prefix")
    @classmethod
    def _comment(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("comment_prefix must not be empty or blank")
        return v

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)

    @property
    def kind(self) -> str:
        if self.format:
            return self.format
        return "jsonl" if self.file.endswith((".jsonl", ".ndjson")) else "csv"


class FilesConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    root: str = Field(..., description="Folder holding the drops (relative to concord.yaml).")
    base_dir: str = Field(".", description="Set by Concord: the folder of concord.yaml.")
    page_size: int = Field(500, ge=1, le=100_000)
    max_batch: int = Field(50_000, ge=1, description="Changes per write (one file rewrite each: the whole file "
                           "is read and written per call, so a call costs the file's size whatever it changes).")
    entities: dict[str, FileEntity] = Field(..., min_length=1)

    @field_validator("root")
    @classmethod
    def _root(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("root must name a folder")
        return v

    def folder(self) -> str:
        return self.root if os.path.isabs(self.root) else os.path.join(self.base_dir, self.root)
