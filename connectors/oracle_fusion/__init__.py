"""Oracle Fusion Cloud (ERP/SCM/CX) REST connector. See README.md."""
from connectors.oracle_fusion.connector import OracleFusionConnector
from connectors.oracle_fusion.config import OracleFusionConfig, ResourceConfig

__all__ = ["OracleFusionConnector", "OracleFusionConfig", "ResourceConfig"]
