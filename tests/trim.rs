//! (placeholder: tests for this module are being written)
