"""Salesforce connector (REST + Bulk API 2.0 through simple-salesforce) and its sandbox."""
from concord.connectors.salesforce.config import SalesforceConfig
from concord.connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector", "SalesforceConfig"]
