"""Files connector: CSV and JSON Lines drops (the way many ERPs exchange data)."""
from concord.connectors.files.config import FileEntity, FilesConfig
from concord.connectors.files.connector import FilesConnector

__all__ = ["FileEntity", "FilesConfig", "FilesConnector"]
