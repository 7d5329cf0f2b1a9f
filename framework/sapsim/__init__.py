"""The SAP simulator: a separate process that keeps tRFC's promises and can be inspected."""
