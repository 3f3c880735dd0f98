"""Salesforce connector (REST + Bulk API 2.0 through simple-salesforce) and its sandbox."""
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector", "SalesforceConfig"]
