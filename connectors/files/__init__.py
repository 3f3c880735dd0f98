"""Files connector: CSV and JSON Lines drops (the way many ERPs exchange data)."""
from connectors.files.config import FileEntity, FilesConfig
from connectors.files.connector import FilesConnector

__all__ = ["FileEntity", "FilesConfig", "FilesConnector"]
