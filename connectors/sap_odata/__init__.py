"""SAP S/4HANA OData V2 connector (pyodata) and its sandbox."""
from concord.connectors.sap_odata.config import SapODataConfig
from concord.connectors.sap_odata.connector import SapODataConnector

__all__ = ["SapODataConnector", "SapODataConfig"]
