"""Oracle Fusion Cloud (ERP/SCM/CX) REST connector. See README.md."""
from concord.connectors.oracle_fusion.connector import OracleFusionConnector
from concord.connectors.oracle_fusion.config import OracleFusionConfig, ResourceConfig

__all__ = ["OracleFusionConnector", "OracleFusionConfig", "ResourceConfig"]
