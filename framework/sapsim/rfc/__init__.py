"""SAP's classic RFC protocol (CPIC over TCP) on the simulator's engine."""
