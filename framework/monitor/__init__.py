"""The web monitor: what happened to a request, from the SOAP call to the IDoc's status in SAP (docs/monitor.md)."""
