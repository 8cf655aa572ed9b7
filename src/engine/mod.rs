//! The engine: the hot thread's event loop and the risk/telemetry thread, wired together.
