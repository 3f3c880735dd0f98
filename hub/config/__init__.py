"""Configuration: concord.yaml (systems, entities, match, survivorship, sync rules) and mappings."""
from concord.hub.config.loader import ConfigErrors, Project, load_project
from concord.hub.config.model import EntityConfig, MatchRule, ProjectConfig, SourceConfig, SyncRule, SystemConfig

__all__ = ["ConfigErrors", "Project", "load_project", "EntityConfig", "MatchRule", "ProjectConfig", "SourceConfig",
           "SyncRule", "SystemConfig"]
