"""The SOAP frontend: service contracts, XML binding, envelopes, faults, the ASGI app."""
